# Small helpers so that adding a module, test or benchmark is one line.

# eddy_module(target export_name): warnings, include root, eddy:: alias.
function(eddy_module target export_name)
  target_compile_options(${target} PRIVATE ${EDDY_WARNINGS})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:include/eddy>)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  add_library(eddy::${export_name} ALIAS ${target})
endfunction()

# eddy_test(name source... [LIBS lib...] [SPLIT test...]): a GoogleTest
# binary run by ctest. With SPLIT, each named test (TEST name, without the
# suite) is its own ctest entry, so that `ctest -j` runs long ones side by side.
function(eddy_test name)
  cmake_parse_arguments(ARG "" "" "LIBS;SPLIT" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_compile_options(${name} PRIVATE ${EDDY_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  set(_env "EDDY_BIN=$<TARGET_FILE:eddy>;EDDY_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_SPLIT)
    # Every test of the sources must be listed (else it would never run).
    set(_count 0)
    foreach(_src ${ARG_UNPARSED_ARGUMENTS})
      file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/${_src} _tests REGEX "^TEST(_F|_P)?\\(")
      list(LENGTH _tests _n)
      math(EXPR _count "${_count} + ${_n}")
    endforeach()
    list(LENGTH ARG_SPLIT _listed)
    if(NOT _count EQUAL _listed)
      message(FATAL_ERROR "${name}: SPLIT lists ${_listed} tests, the sources have ${_count}")
    endif()
    foreach(_t ${ARG_SPLIT})
      add_test(NAME ${name}.${_t} COMMAND ${name} --gtest_filter=*.${_t})
      set_tests_properties(${name}.${_t} PROPERTIES ENVIRONMENT "${_env}")
    endforeach()
  else()
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${_env}")
  endif()
endfunction()

# eddy_benchmark(name source... [LIBS lib...]): a Google Benchmark binary.
function(eddy_benchmark name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_compile_options(${name} PRIVATE ${EDDY_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark benchmark::benchmark_main)
endfunction()

# Small helpers so that adding a module, test or benchmark is one line.

# eddy_module(target export_name): warnings, include root, eddy:: alias.
function(eddy_module target export_name)
  target_compile_options(${target} PRIVATE ${EDDY_WARNINGS})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:include/eddy>)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  add_library(eddy::${export_name} ALIAS ${target})
endfunction()

# eddy_test(name source... [LIBS lib...]): a GoogleTest binary run by ctest.
function(eddy_test name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_compile_options(${name} PRIVATE ${EDDY_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT
    "EDDY_BIN=$<TARGET_FILE:eddy>;EDDY_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# eddy_benchmark(name source... [LIBS lib...]): a Google Benchmark binary.
function(eddy_benchmark name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_compile_options(${name} PRIVATE ${EDDY_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark benchmark::benchmark_main)
endfunction()

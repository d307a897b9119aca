# The integration-test harness (throwaway PostgreSQL servers, SQL helpers, dump comparison,
# child processes) and its self-test. Integration tests link pgh_test_harness.
add_library(pgh_test_harness STATIC ${CMAKE_CURRENT_LIST_DIR}/pgh_test.c)
target_include_directories(pgh_test_harness PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(pgh_test_harness PUBLIC PkgConfig::LIBPQ)

add_executable(test_harness ${CMAKE_CURRENT_LIST_DIR}/test_harness.c)
target_link_libraries(test_harness PRIVATE pgh_test_harness)
add_test(NAME harness_selftest COMMAND test_harness)
set_tests_properties(harness_selftest PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                                                 TIMEOUT 120)

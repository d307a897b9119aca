# The integration-test harness (throwaway PostgreSQL servers, SQL helpers, dump comparison,
# child processes) and its self-test; pgh_run on top of it. Integration tests link one of them.
add_library(pgh_test_harness STATIC ${CMAKE_CURRENT_LIST_DIR}/pgh_test.c)
target_include_directories(pgh_test_harness PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(pgh_test_harness PUBLIC PkgConfig::LIBPQ)

# Running pghost's binary around the servers (pgh_run.h): tests that start pghost link this.
add_library(pgh_run STATIC ${CMAKE_CURRENT_LIST_DIR}/pgh_run.c)
target_link_libraries(pgh_run PUBLIC pgh_test_harness Threads::Threads)

add_executable(test_harness ${CMAKE_CURRENT_LIST_DIR}/test_harness.c)
target_link_libraries(test_harness PRIVATE pgh_test_harness)
add_test(NAME harness_selftest COMMAND test_harness)
set_tests_properties(harness_selftest PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                                                 TIMEOUT 120)

# nats-server processes with JetStream (pgh_nats.h), for the distributed mode's tests.
add_library(pgh_nats_harness STATIC ${CMAKE_CURRENT_LIST_DIR}/pgh_nats.c)
target_link_libraries(pgh_nats_harness PUBLIC pgh_test_harness)

# Operator, accounts and users with their JWTs for a nats-server in operator mode (pgh_nats_jwt.h);
# their NKeys are encoded by pghost's own src/dest/nats/nkey.c, which nats-server checks.
add_library(pgh_nats_jwt STATIC ${CMAKE_CURRENT_LIST_DIR}/pgh_nats_jwt.c
            ${PROJECT_SOURCE_DIR}/src/dest/nats/nkey.c)
target_include_directories(pgh_nats_jwt PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(pgh_nats_jwt PUBLIC pgh_test_harness PkgConfig::CRYPTO)

# Integration tests: real PostgreSQL 15 servers started by the harness (tests/harness).
set(PGH_IT_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(pgh_it_common STATIC ${PGH_IT_DIR}/it_common.c)
target_link_libraries(pgh_it_common PUBLIC pgh_run pghost_lib)
target_include_directories(pgh_it_common PUBLIC ${PGH_IT_DIR} ${CMAKE_SOURCE_DIR}/include)

function(pgh_integration_test name)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)
endfunction()

add_executable(it_concurrent ${PGH_IT_DIR}/it_concurrent.c)
target_link_libraries(it_concurrent PRIVATE pgh_it_common)
# Several seeds, worker counts 1 and 4, composite and uuid keys, several tables at once, key
# ranges, and one table of a million rows (with the longest source transaction measured).
pgh_integration_test(sync_int_w1_seed1 it_concurrent --seed 1 --workers 1 --rows 20000 --batch 500 --tables int --truncate)
pgh_integration_test(sync_int_w4_seed2 it_concurrent --seed 2 --workers 4 --rows 20000 --batch 500 --tables int)
pgh_integration_test(sync_comp_w4_seed3 it_concurrent --seed 3 --workers 4 --rows 20000 --batch 500 --tables comp --truncate)
pgh_integration_test(sync_uuid_w4_seed4 it_concurrent --seed 4 --workers 4 --rows 20000 --batch 500 --tables uuid)
pgh_integration_test(sync_multi_w4_seed5 it_concurrent --seed 5 --workers 4 --rows 20000 --batch 700 --tables int,comp,uuid --truncate)
pgh_integration_test(sync_multi_w1_seed6 it_concurrent --seed 6 --workers 1 --rows 10000 --batch 300 --tables uuid,comp,int --truncate)
pgh_integration_test(sync_range_w4_seed7 it_concurrent --seed 7 --workers 4 --rows 20000 --batch 500 --tables int --range)
# Keys change hands often: a row moves away and another takes its key while the copy runs.
pgh_integration_test(sync_tight_w4_seed9 it_concurrent --seed 9 --workers 4 --rows 5000 --batch 100 --tables int,comp,uuid --tight)
pgh_integration_test(sync_tight_w2_seed10 it_concurrent --seed 10 --workers 2 --rows 5000 --batch 100 --tables int --tight)
# Rows of 2 kB at the default batch size and time target: every copy transaction on the source
# stays under 250 ms (one batch of the 60,000 rows took 0.45-0.5 s here), and the copy with
# writers is exact (copy_batch_max_ms, source/batch_pace.c).
pgh_integration_test(sync_wide_w2_seed11 it_concurrent --seed 11 --workers 2 --rows 60000 --batch 100000 --tables wide --max-xact-ms 250)
# The destination stalls a second in the middle of batches (a trigger): the copy's source
# transactions still end (after at most 100 ms of waiting, dest/postgres/copy_in.c holds the rest).
# Timing-bound (a second's stall three times): the release configuration runs it.
pgh_integration_test(sync_stall_w2_seed12 it_concurrent --seed 12 --workers 2 --rows 30000 --batch 100000 --tables wide --dst-stall-ms 1000)
set_tests_properties(sync_stall_w2_seed12 PROPERTIES LABELS "integration;slow")
pgh_integration_test(sync_1m_w4_seed8 it_concurrent --seed 8 --workers 4 --rows 1000000 --batch 20000 --tables int,comp --truncate --measure-xact)
# A million rows (20 s and more under ASan): the release configuration runs it.
set_tests_properties(sync_1m_w4_seed8 PROPERTIES LABELS "integration;slow")

add_executable(it_types ${PGH_IT_DIR}/it_types.c)
target_link_libraries(it_types PRIVATE pgh_it_common)
pgh_integration_test(types_roundtrip it_types)

add_executable(it_cli ${PGH_IT_DIR}/it_cli.c)
target_link_libraries(it_cli PRIVATE pgh_run)
target_compile_definitions(it_cli PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_cli pghost)
pgh_integration_test(cli_preflight_and_handoff it_cli)

add_executable(it_follow ${PGH_IT_DIR}/it_follow.c)
target_link_libraries(it_follow PRIVATE pgh_run)
target_compile_definitions(it_follow PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>"
                           PGH_SANITIZED=$<BOOL:${PGH_SANITIZE}>)
add_dependencies(it_follow pghost)
foreach(case basic kill9 kill9_all sigterm_copy restarts idle slot_dropped two_appliers handoff lifecycle big_txn json)
  pgh_integration_test(follow_${case} it_follow ${case})
endforeach()
# 25 s and more under ASan (a 1,000,000-row transaction; two appliers in turn): release only.
set_tests_properties(follow_big_txn follow_two_appliers PROPERTIES LABELS "integration;slow")

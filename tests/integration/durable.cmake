# A destination committing asynchronously is killed while pghost follows: only what it made
# durable may be confirmed to the slot (tests/integration/it_durable.c).
add_executable(it_durable ${CMAKE_CURRENT_LIST_DIR}/it_durable.c)
target_link_libraries(it_durable PRIVATE pgh_run)
target_compile_definitions(it_durable PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_durable pghost)
add_test(NAME follow_dst_killed_async COMMAND it_durable)
set_tests_properties(follow_dst_killed_async PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                     TIMEOUT 180)

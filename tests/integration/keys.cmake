# Keys of any ordered type (composite, range, enum...), tables a pattern must not select, and
# refusals before anything is written (issue 10: items 2, 3, 4 and 8).
add_executable(it_keys ${CMAKE_CURRENT_LIST_DIR}/it_keys.c)
target_link_libraries(it_keys PRIVATE pgh_run)
target_compile_definitions(it_keys PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_keys pghost)
foreach(case keys unordered unlogged rootonly nogrant)
  pgh_integration_test(keys_${case} it_keys ${case})
endforeach()

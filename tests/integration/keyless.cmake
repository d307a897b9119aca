# Tables without a primary key (issue 10, item 5): REPLICA IDENTITY USING INDEX synced and
# followed with writers running; keyless tables that pghost cannot follow refused before a slot.
add_executable(it_keyless ${CMAKE_CURRENT_LIST_DIR}/it_keyless.c)
target_link_libraries(it_keyless PRIVATE pgh_run)
target_compile_definitions(it_keyless PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_keyless pghost)
foreach(case using_index stdout refused)
  pgh_integration_test(keyless_${case} it_keyless ${case})
endforeach()

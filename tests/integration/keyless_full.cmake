# Tables without any key (REPLICA IDENTITY FULL, no usable unique index; docs/sync.md): twins
# and TOAST values synced and followed with writers running, kills while following, a TRUNCATE during the copy,
# refusals.
add_executable(it_keyless_full ${CMAKE_CURRENT_LIST_DIR}/it_keyless_full.c)
target_link_libraries(it_keyless_full PRIVATE pgh_run)
target_compile_definitions(it_keyless_full PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_keyless_full pghost)
foreach(case follow kill truncate refused)
  pgh_integration_test(keyless_full_${case} it_keyless_full ${case})
endforeach()

# Table selection (patterns, excludes), partitioned tables, pghost init and teardown.
add_executable(it_select ${CMAKE_CURRENT_LIST_DIR}/it_select.c)
target_link_libraries(it_select PRIVATE pgh_it_common)
target_compile_definitions(it_select PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_select pghost)
foreach(case patterns partitions init)
  pgh_integration_test(select_${case} it_select ${case})
endforeach()

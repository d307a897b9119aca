# Issue 10: publication row filters and column lists (against a native subscription too),
# destination-only columns and types that differ, a column list without the key refused,
# --create-tables under a column list, INSERTs lacking TOASTed values under a row filter.
# (Included before integration.cmake: plain add_test, like check.cmake.)
add_executable(it_filters ${CMAKE_CURRENT_LIST_DIR}/it_filters.c)
target_link_libraries(it_filters PRIVATE pgh_run)
target_compile_definitions(it_filters PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_filters pghost)
foreach(case filters types nokey toobig createcols toastfilter toastfilter_events)
  add_test(NAME filters_${case} COMMAND it_filters ${case})
  set_tests_properties(filters_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 600)
endforeach()

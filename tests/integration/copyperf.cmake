# The copy's destination side: batches spliced into shared destination COPYs (src/dest/postgres/copy_in.c).
# (Sorted before integration.cmake: plain add_test; pgh_it_common resolves at generate time.)
add_executable(it_copyperf ${CMAKE_CURRENT_LIST_DIR}/it_copyperf.c)
target_link_libraries(it_copyperf PRIVATE pgh_it_common)
foreach(case splice dest_fail)
  add_test(NAME copy_${case} COMMAND it_copyperf ${case})
  set_tests_properties(copy_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()

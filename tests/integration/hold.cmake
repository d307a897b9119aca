# A destination of the C library's own that holds delivered transactions: the slot stays at
# what it made durable, also while the stream is idle (follow.c's idle confirmation).
# (Sorted before integration.cmake: plain add_test; pgh_it_common resolves at generate time.)
add_executable(it_hold ${CMAKE_CURRENT_LIST_DIR}/it_hold.c)
target_link_libraries(it_hold PRIVATE pgh_it_common)
add_test(NAME follow_hold COMMAND it_hold)
set_tests_properties(follow_hold PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 120)

# pghost teardown with a server down (issue 11, finding 2): the real binary, a destination
# stopped and started again by the test.
add_executable(it_teardown ${CMAKE_CURRENT_LIST_DIR}/it_teardown.c)
target_link_libraries(it_teardown PRIVATE pgh_run)
target_compile_definitions(it_teardown PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_teardown pghost)
foreach(case dst_down force)
  add_test(NAME teardown_${case} COMMAND it_teardown ${case})
  set_tests_properties(teardown_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()

# The pipelined apply (src/apply/pipe.c): divergence after the checkpoint rolls back the whole
# grouped destination transaction with statements in flight, a mixed backlog applies exactly, and
# a group's COMMIT waits for its results while the next group is read (held).
add_executable(it_apply_pipe ${CMAKE_CURRENT_LIST_DIR}/it_apply_pipe.c)
target_link_libraries(it_apply_pipe PRIVATE pgh_run)
target_compile_definitions(it_apply_pipe PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_apply_pipe pghost)
foreach(case divergence mixed held)
  add_test(NAME apply_pipe_${case} COMMAND it_apply_pipe ${case})
  set_tests_properties(apply_pipe_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
# held: two runs with a kill and fences, about 5 to 7 s
set_tests_properties(apply_pipe_held PROPERTIES LABELS "integration;slow")

# Every run is resumable, and reconnects (issue 11, finding 4): one-shot runs of the real binary
# stopped by SIGTERM in the copy, or through restarts of either server in the copy or the
# catch-up, with writers running; full ordered dumps compared at the end.
add_executable(it_resume ${CMAKE_CURRENT_LIST_DIR}/it_resume.c)
target_link_libraries(it_resume PRIVATE pgh_run)
target_compile_definitions(it_resume PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_resume pghost)
foreach(case sigterm dst_restart src_restart catchup)
  add_test(NAME resume_oneshot_${case} COMMAND it_resume ${case})
  set_tests_properties(resume_oneshot_${case} PROPERTIES LABELS integration
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

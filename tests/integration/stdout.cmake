# The JSON-lines destinations end to end (pghost replicate --to stdout, --to file): a reference
# consumer rebuilds every table from the lines (docs/json-lines.md) and compares it with the
# source; for files it also proves every line came exactly once.
add_executable(it_stdout ${CMAKE_CURRENT_LIST_DIR}/it_stdout.c)
target_link_libraries(it_stdout PRIVATE pgh_run PkgConfig::JANSSON)
target_compile_definitions(it_stdout PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_stdout pghost)
foreach(case consistent kill9)
  add_test(NAME stdout_${case} COMMAND it_stdout ${case})
  set_tests_properties(stdout_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()
# Long scenarios, skipped by the ASan configuration (40 s and more there): the files under
# writers, three SIGKILLs, and rotation by age (waits out whole seconds); a reload under
# writers; up to ten rounds of a TRUNCATE racing a chunk's window. The file code they exercise
# (recovery, rotation by size and age) runs under ASan in the unit tests file.set.*, and the
# line writer and the watermark windows in stdout_consistent and stdout_kill9.
foreach(case file_consistent file_kill9 file_rotate reload truncate_window)
  add_test(NAME stdout_${case} COMMAND it_stdout ${case})
  set_tests_properties(stdout_${case} PROPERTIES LABELS "integration;slow" SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()

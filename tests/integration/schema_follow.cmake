# --create-tables with --follow through the real binary, writers running: the deferred build
# then following (dumps and every index/constraint compared), SIGKILL during the deferred build
# and re-runs, SIGKILL during the copy (keys of the created tables built after it; a duplicate key put in meanwhile refused), teardown with the build unfinished, a run killed between creating and recording
# its phase.
add_executable(it_schema_follow ${CMAKE_CURRENT_LIST_DIR}/it_schema_follow.c)
target_link_libraries(it_schema_follow PRIVATE pgh_it_common)
target_compile_definitions(it_schema_follow PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_schema_follow pghost)
foreach(case follow kill_build kill_copy dup_key teardown_pending window)
  add_test(NAME schema_follow_${case} COMMAND it_schema_follow ${case})
  set_tests_properties(schema_follow_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 600)
endforeach()

# The PostgreSQL writer's options (issue 13, item 3): on_conflict_action with rows already on
# the destination, disable_triggers with a trigger that records what fires it.
add_executable(it_writer ${CMAKE_CURRENT_LIST_DIR}/it_writer.c)
target_link_libraries(it_writer PRIVATE pgh_run)
target_compile_definitions(it_writer PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_writer pghost)
foreach(case conflict triggers)
  add_test(NAME writer_${case} COMMAND it_writer ${case})
  set_tests_properties(writer_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()

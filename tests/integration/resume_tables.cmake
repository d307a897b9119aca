# A resumed --follow run keeps the tables its first run selected (src/core/selection_store.c):
# the real binary, a pattern that gains a table while pghost is stopped, then teardown.
add_executable(it_resume_tables ${CMAKE_CURRENT_LIST_DIR}/it_resume_tables.c)
target_link_libraries(it_resume_tables PRIVATE pgh_run)
target_compile_definitions(it_resume_tables PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_resume_tables pghost)
add_test(NAME resume_tables_new_table COMMAND it_resume_tables new_table)
set_tests_properties(resume_tables_new_table PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                     TIMEOUT 300)

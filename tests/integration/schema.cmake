# Creating the destination tables (create_destination_tables / --create-tables): every object
# kind, the pagila schema (structure compared with pg_dump, data synced), a refused mismatch.
add_executable(it_schema ${CMAKE_CURRENT_LIST_DIR}/it_schema.c)
target_link_libraries(it_schema PRIVATE pgh_it_common)
target_compile_definitions(it_schema PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_schema pghost)
foreach(case kinds pagila mismatch)
  add_test(NAME schema_${case} COMMAND it_schema ${case})
  set_tests_properties(schema_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 600)
endforeach()

# The DuckDB destination end to end (pghost replicate --to duckdb) against the real libduckdb,
# read back through it and compared with the source (rules: through a rules file, compared with
# the source filtered and transformed in SQL); skipped (77) when libduckdb is missing.
add_executable(it_duckdb ${CMAKE_CURRENT_LIST_DIR}/it_duckdb.c)
target_link_libraries(it_duckdb PRIVATE pgh_run pghost_lib)
target_compile_definitions(it_duckdb PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_duckdb pghost)
foreach(case consistent types rules)
  add_test(NAME duckdb_${case} COMMAND it_duckdb ${case})
  set_tests_properties(duckdb_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()
# Long scenarios, skipped by the ASan configuration: three SIGKILLs, and 1M existing rows.
foreach(case kill9 consistent_1m)
  add_test(NAME duckdb_${case} COMMAND it_duckdb ${case})
  set_tests_properties(duckdb_${case} PROPERTIES LABELS "integration;slow" SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()

# Rules end to end (pghost replicate --to stdout with rules_file): pg_flo's own transform/filter
# case with its rules file verbatim, and a filter on updates moving rows in and out under
# concurrent writes, compared with the source filtered by the same predicate; a key-changing
# UPDATE moving a row with an unchanged TOAST value into a filter (the INSERT carries it whole);
# pg_flo's case through the file destination; renamed and left-out columns into PostgreSQL (copy +
# catch-up, and copy_method watermarks).
add_executable(it_rules ${CMAKE_CURRENT_LIST_DIR}/it_rules.c)
target_link_libraries(it_rules PRIVATE pgh_run PkgConfig::JANSSON PkgConfig::CRYPTO)
target_compile_definitions(it_rules PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_rules pghost)
foreach(case pgflo pgflo_file moves toast pgflo_pg moves_pg toast_pg rename_pg rename_pg_wm)
  add_test(NAME rules_${case} COMMAND it_rules ${case})
  set_tests_properties(rules_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()

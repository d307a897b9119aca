# The differential test against native logical replication (issue 10): one source, a native
# subscription into one destination database and pghost --follow into another, a seeded random
# workload during the copy and after, full ordered dumps compared three ways. A few seeds here;
# the longer run is documented in it_differential.c (`it_differential SEED --long`).
add_executable(it_differential ${CMAKE_CURRENT_LIST_DIR}/it_differential.c)
target_link_libraries(it_differential PRIVATE pgh_run)
target_compile_definitions(it_differential PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_differential pghost)
# seed 1 plain; seed 2 with row filters and column lists; seed 3 with row filters and
# destination columns of its own (issue 10, items 1 and 6); seed 11 with keyless tables (two of
# its six tables have no key, REPLICA IDENTITY FULL: item 5)
add_test(NAME differential_seed1 COMMAND it_differential 1)
add_test(NAME differential_seed2 COMMAND it_differential 2 --row-filters --column-lists)
add_test(NAME differential_seed3 COMMAND it_differential 3 --row-filters --extra-columns)
add_test(NAME differential_seed11 COMMAND it_differential 11 --keyless)
set_tests_properties(differential_seed1 differential_seed2 differential_seed3 differential_seed11 PROPERTIES
                     LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)

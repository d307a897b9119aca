# The differential test against native logical replication (issue 10): one source, a native
# subscription into one destination database and pghost --follow into another, a seeded random
# workload during the copy and after, full ordered dumps compared three ways. A few seeds here;
# the longer run is documented in it_differential.c (`it_differential SEED --long`).
add_executable(it_differential ${CMAKE_CURRENT_LIST_DIR}/it_differential.c)
target_link_libraries(it_differential PRIVATE pgh_run)
target_compile_definitions(it_differential PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_differential pghost)
foreach(seed 1 2 3)
  add_test(NAME differential_seed${seed} COMMAND it_differential ${seed})
  set_tests_properties(differential_seed${seed} PROPERTIES LABELS integration
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

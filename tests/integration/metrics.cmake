# Operating pghost (pghost replicate --metrics-addr, --log-format json, status --watch): a
# strict Prometheus text-format parser reads every /metrics line during a copy and a follow.
add_executable(it_metrics ${CMAKE_CURRENT_LIST_DIR}/it_metrics.c)
target_link_libraries(it_metrics PRIVATE pgh_run PkgConfig::JANSSON m)
target_compile_definitions(it_metrics PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_metrics pghost)
foreach(case metrics watch debuglog verify stdout)
  add_test(NAME metrics_${case} COMMAND it_metrics ${case})
  set_tests_properties(metrics_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 120)
endforeach()

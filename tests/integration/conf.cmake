# Configuration through the real binary (issue 11): ${VAR} passwords against a server that
# checks them (scram-sha-256); the configuration by a file, flags and PGH_CFG_ variables.
add_executable(it_conf ${CMAKE_CURRENT_LIST_DIR}/it_conf.c)
target_link_libraries(it_conf PRIVATE pgh_run)
target_compile_definitions(it_conf PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_conf pghost)
foreach(case password sources)
  add_test(NAME conf_${case} COMMAND it_conf ${case})
  set_tests_properties(conf_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()

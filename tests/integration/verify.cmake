# pghost verify and sync-sequences through the real binary (tests/integration/it_verify.c).
add_executable(it_verify ${CMAKE_CURRENT_LIST_DIR}/it_verify.c)
target_link_libraries(it_verify PRIVATE pgh_run)
target_compile_definitions(it_verify PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_verify pghost)
foreach(case kinds errors big live sequences)
  add_test(NAME verify_${case} COMMAND it_verify ${case})
  set_tests_properties(verify_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                                                 TIMEOUT 300)
endforeach()
# A big row count (20 s and more under ASan): the release configuration runs it.
set_tests_properties(verify_big PROPERTIES LABELS "integration;slow")

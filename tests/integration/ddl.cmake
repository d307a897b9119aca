# DDL replication while following (src/core/ddl_capture.c, src/apply/ddl.c): real servers and
# the real binary with --follow.
add_executable(it_ddl ${CMAKE_CURRENT_LIST_DIR}/it_ddl.c)
target_link_libraries(it_ddl PRIVATE pgh_run pghost_lib)
target_include_directories(it_ddl PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
target_compile_definitions(it_ddl PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_ddl pghost)
foreach(case all drift)
  add_test(NAME ddl_${case} COMMAND it_ddl ${case})
  set_tests_properties(ddl_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# copy_method: watermarks into PostgreSQL (src/dest/postgres/watermarks.c): existing rows with
# the changes under concurrent writers and a TRUNCATE, then following; and with SIGKILLs.
add_executable(it_watermarks ${CMAKE_CURRENT_LIST_DIR}/it_watermarks.c)
target_link_libraries(it_watermarks PRIVATE pgh_run)
target_compile_definitions(it_watermarks PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_watermarks pghost)
foreach(case concurrent oneshot kill9)
  add_test(NAME watermarks_${case} COMMAND it_watermarks ${case})
  set_tests_properties(watermarks_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 300)
endforeach()

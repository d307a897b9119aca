# Merged changes in grouped destination transactions (src/dest/postgres/merge.h): seeded random
# backlogs on a table that merges, one with a second unique index and one with an ALWAYS
# trigger (both must not merge), compared with the source by full ordered dumps.
add_executable(it_apply_merge ${CMAKE_CURRENT_LIST_DIR}/it_apply_merge.c)
target_link_libraries(it_apply_merge PRIVATE pgh_run)
target_compile_definitions(it_apply_merge PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_apply_merge pghost)
foreach(seed 1 2)
  add_test(NAME apply_merge_seed${seed} COMMAND it_apply_merge ${seed})
  set_tests_properties(apply_merge_seed${seed} PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
# disable_triggers: false, and tables with a foreign key between them (they must not merge)
add_test(NAME apply_merge_fk COMMAND it_apply_merge 3 fk)
set_tests_properties(apply_merge_fk PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 600)

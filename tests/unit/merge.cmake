# The apply's merge window (src/dest/postgres/merge.h): net effect per key, refusals, the order
# of a flush (tests/unit/test_merge.c). merge.c alone: it needs no connection.
add_executable(test_merge ${CMAKE_CURRENT_LIST_DIR}/test_merge.c
               ${PROJECT_SOURCE_DIR}/src/dest/postgres/merge.c)
target_link_libraries(test_merge PRIVATE pghost_lib)
add_test(NAME unit.merge COMMAND test_merge)
set_tests_properties(unit.merge PROPERTIES LABELS unit)

# The copy's batch limit adapted to a time target (source/batch_pace.h): pure arithmetic.
add_executable(test_batch_pace ${CMAKE_CURRENT_LIST_DIR}/test_batch_pace.c)
target_link_libraries(test_batch_pace PRIVATE pghost_lib)
add_test(NAME unit.batch_pace COMMAND test_batch_pace)
set_tests_properties(unit.batch_pace PROPERTIES LABELS unit)

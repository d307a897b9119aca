# Which replayed transactions the catch-up waits for before copying rows again
# (pipeline/catchup_visible.c): xid arithmetic against a snapshot, no server.
add_executable(test_visible_note ${CMAKE_CURRENT_LIST_DIR}/test_visible_note.c)
target_link_libraries(test_visible_note PRIVATE pghost_lib)
target_include_directories(test_visible_note PRIVATE ${PROJECT_SOURCE_DIR}/src)
add_test(NAME unit.visible_note COMMAND test_visible_note)
set_tests_properties(unit.visible_note PROPERTIES LABELS unit)

# The webhook destination's pieces without a network: signature vector, URL redaction,
# idempotency key and body, option checks (tests/unit/test_webhook.c).
add_executable(test_webhook ${CMAKE_CURRENT_LIST_DIR}/test_webhook.c)
target_link_libraries(test_webhook PRIVATE pghost_lib)
add_test(NAME unit.webhook COMMAND test_webhook)
set_tests_properties(unit.webhook PROPERTIES LABELS unit)

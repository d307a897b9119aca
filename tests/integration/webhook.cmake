# The webhook destination end to end (destination: webhook) against a real HTTP receiver
# (libmicrohttpd in the test) that checks signatures, fails, delays and throttles requests.
# chaos SIGKILLs pghost twice and waits out timeouts: slow (the ASan configuration skips it).
add_executable(it_webhook ${CMAKE_CURRENT_LIST_DIR}/it_webhook.c)
target_link_libraries(it_webhook PRIVATE pgh_run PkgConfig::JANSSON PkgConfig::MHD
                      PkgConfig::CRYPTO)
target_compile_definitions(it_webhook PRIVATE PGH_BINARY="$<TARGET_FILE:pghost>")
add_dependencies(it_webhook pghost)
foreach(case chaos badsecret status400 tls)
  add_test(NAME webhook_${case} COMMAND it_webhook ${case})
  set_tests_properties(webhook_${case} PROPERTIES LABELS integration SKIP_RETURN_CODE 77
                       TIMEOUT 180)
endforeach()
set_tests_properties(webhook_chaos PROPERTIES LABELS "integration;slow")

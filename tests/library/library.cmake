# The library as users get it: libpghost.so exports exactly the PGH_API functions of the public
# headers (label unit: no server, a second or so). Installing it and building the examples
# against it is the integration test install_examples (tests/integration/install_examples.cmake).
add_test(NAME library_symbols
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/exported_symbols.sh ${CMAKE_C_COMPILER}
                 ${PROJECT_SOURCE_DIR}/include $<TARGET_FILE:pghost_shared>)
set_tests_properties(library_symbols PROPERTIES LABELS unit)

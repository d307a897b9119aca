# Fuzzing the configuration parser (pgh_config_parse).
#
# fuzz_config_corpus: the saved inputs under corpus/config run as a plain ctest entry (label
# fuzz) with any compiler, and under ASan+UBSan when PGH_SANITIZE=ON.
# fuzz_config: the libFuzzer binary, built only with PGH_FUZZ=ON and clang:
#   build/tests/fuzz_config -max_total_time=180 <scratch-dir> tests/fuzz/corpus/config
set(pgh_fuzz_config_dir ${CMAKE_CURRENT_LIST_DIR})

add_executable(fuzz_config_corpus ${pgh_fuzz_config_dir}/fuzz_config.c
                                  ${pgh_fuzz_config_dir}/corpus_driver.c)
target_link_libraries(fuzz_config_corpus PRIVATE pgh_config pgh_util)
add_test(NAME fuzz.config.corpus
         COMMAND fuzz_config_corpus ${pgh_fuzz_config_dir}/corpus/config)
set_tests_properties(fuzz.config.corpus PROPERTIES LABELS fuzz)

if(PGH_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  # The code under test must carry the fuzzer's coverage instrumentation, so its sources are
  # compiled into the target instead of linking the uninstrumented object libraries.
  file(GLOB pgh_fuzz_config_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/config/*.c
       ${PROJECT_SOURCE_DIR}/src/util/*.c)
  add_executable(fuzz_config ${pgh_fuzz_config_dir}/fuzz_config.c ${pgh_fuzz_config_srcs})
  target_include_directories(fuzz_config PRIVATE ${PROJECT_SOURCE_DIR}/include
                                                 ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(fuzz_config PRIVATE -fsanitize=fuzzer,address,undefined
                                             -fno-sanitize-recover=undefined
                                             -fno-omit-frame-pointer)
  target_link_options(fuzz_config PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_config PRIVATE PkgConfig::YAML Threads::Threads m)
endif()

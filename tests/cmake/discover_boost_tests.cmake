# discover_boost_tests(TARGET [TIMEOUT seconds] [ONE_AT_A_TIME label...]): ctest asks the built
# TARGET for its Boost.Test cases each time it runs (boost_test_cases.cmake) and makes one entry
# per case, so a new suite or case is never missing from ctest. Cases with a Boost.Test label named
# in ONE_AT_A_TIME never run at the same time as each other. Listing at ctest time, not at build
# time, works the same for the sanitizer builds, whose executables need their runtime's environment.
# A cross build's executables are listed and run under its CMAKE_CROSSCOMPILING_EMULATOR.
function(discover_boost_tests target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT" "ONE_AT_A_TIME")
    if(NOT arg_TIMEOUT)
        set(arg_TIMEOUT 300)
    endif()
    set(emulator "")
    if(CMAKE_CROSSCOMPILING)
        set(emulator "${CMAKE_CROSSCOMPILING_EMULATOR}")
    endif()
    set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")
    file(GENERATE OUTPUT "${include_file}" CONTENT
         "include([==[${CMAKE_CURRENT_FUNCTION_LIST_DIR}/boost_test_cases.cmake]==])
add_boost_test_cases(${target} [==[$<TARGET_FILE:${target}>]==]
                     [==[${CMAKE_CURRENT_BINARY_DIR}/${target}_cases.dot]==] ${arg_TIMEOUT}
                     [==[${arg_ONE_AT_A_TIME}]==] [==[${CMAKE_COMMAND}]==] [==[${emulator}]==])
")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()

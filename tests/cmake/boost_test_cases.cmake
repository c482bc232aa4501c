# Run by ctest, not by cmake: one ctest entry per Boost.Test case of a test executable, as the
# executable lists them itself (--list_content=DOT), so that no case is left out of ctest and each
# skipped case shows as Skipped. Included through TEST_INCLUDE_FILES (discover_boost_tests.cmake).
#
# Entries are named TARGET.SUITE/CASE (TARGET.CASE outside any suite) and run
# `EXECUTABLE --run_test=SUITE/CASE --log_level=message`. A case whose precondition fails prints
# "... is skipped: precondition failed: REASON" (tests/common/skip_report.hpp): ctest counts it
# Skipped, or Failed when TUNNEL_TESTS_NO_SKIP is set in ctest's environment (a run that must not
# skip anything). Each entry has the ctest labels TARGET and the case's Boost.Test labels (its
# suites' too); the labels named in one_at_a_time are also a RESOURCE_LOCK: cases with such a
# label never run at the same time as each other. A case disabled by default (or in a suite that
# is) is DISABLED.
#
# The listing is kept in listing_file and taken again when the executable is newer.

cmake_policy(VERSION 3.25)  # (ctest reads this with no policies set)

# The ctest commands for the cases in `listing` (the DOT text of --list_content=DOT), in out_var.
# Nodes look like tu65536[...,color=green,label="NAME|FILE(LINE)|labels: @a @b"]; (yellow when
# disabled; the module's label is its name alone) and each is followed by the edge from its parent,
# tu2 -> tu65536; (dependencies are edges with attributes, not read here).
function(_boost_test_case_commands target executable listing timeout one_at_a_time emulator out_var)
    # DOT ends statements with ';': without them, the lines become a CMake list.
    string(REPLACE ";" "" listing "${listing}")
    string(REPLACE "\n" ";" lines "${listing}")
    set(ids)
    foreach(line IN LISTS lines)
        if(line MATCHES "^tu([0-9]+)\\[.*,color=([a-z]+),label=\"([^\"]*)\"\\]$")
            set(id ${CMAKE_MATCH_1})
            list(APPEND ids ${id})
            set(enabled_${id} FALSE)
            if(CMAKE_MATCH_2 STREQUAL "green")
                set(enabled_${id} TRUE)
            endif()
            set(label "${CMAKE_MATCH_3}")
            string(REGEX REPLACE "\\|.*$" "" name_${id} "${label}")
            set(labels_${id})
            if(label MATCHES "\\|labels:(( @[^ |]+)+)$")
                string(REGEX MATCHALL "[^ @]+" labels_${id} "${CMAKE_MATCH_1}")
            endif()
        elseif(line MATCHES "^tu([0-9]+) -> tu([0-9]+)$")
            set(parent_${CMAKE_MATCH_2} ${CMAKE_MATCH_1})
            set(has_children_${CMAKE_MATCH_1} TRUE)
        endif()
    endforeach()

    list(JOIN one_at_a_time "|" one_at_a_time)
    set(run "")  # the emulator's words, each quoted, before the executable
    foreach(word IN LISTS emulator)
        string(APPEND run "[==[${word}]==] ")
    endforeach()
    set(commands "")
    foreach(id IN LISTS ids)
        # Test cases only: not the module (no parent) and not a suite (children).
        if(NOT DEFINED parent_${id} OR has_children_${id})
            continue()
        endif()
        set(unit "${name_${id}}")
        set(labels ${target} ${labels_${id}})
        set(enabled ${enabled_${id}})
        set(up ${parent_${id}})
        while(DEFINED parent_${up})  # up to the module, which is not part of the name
            set(unit "${name_${up}}/${unit}")
            list(APPEND labels ${labels_${up}})
            if(NOT enabled_${up})
                set(enabled FALSE)
            endif()
            set(up ${parent_${up}})
        endwhile()
        list(REMOVE_DUPLICATES labels)
        set(locks ${labels})
        list(FILTER locks INCLUDE REGEX "^(${one_at_a_time})$")
        set(test "${target}.${unit}")
        string(APPEND commands
               "add_test([==[${test}]==] ${run}[==[${executable}]==] [==[--run_test=${unit}]==] --log_level=message)\n"
               "set_tests_properties([==[${test}]==] PROPERTIES TIMEOUT ${timeout} LABELS [==[${labels}]==]"
               " \${boost_test_skip_property} [==[is skipped: precondition failed]==])\n")
        if(locks)
            string(APPEND commands "set_tests_properties([==[${test}]==] PROPERTIES RESOURCE_LOCK [==[${locks}]==])\n")
        endif()
        if(NOT enabled)
            string(APPEND commands "set_tests_properties([==[${test}]==] PROPERTIES DISABLED TRUE)\n")
        endif()
    endforeach()
    set(${out_var} "${commands}" PARENT_SCOPE)
endfunction()

# Adds the ctest entries of target (its executable at `executable`). one_at_a_time: Boost.Test
# labels (a list) whose cases run one at a time; cmake_command runs the entry that reports a
# listing that failed; emulator (a list, may be empty) runs the executable (a cross build's).
function(add_boost_test_cases target executable listing_file timeout one_at_a_time cmake_command emulator)
    if(DEFINED ENV{TUNNEL_TESTS_NO_SKIP})
        set(boost_test_skip_property FAIL_REGULAR_EXPRESSION)
    else()
        set(boost_test_skip_property SKIP_REGULAR_EXPRESSION)
    endif()
    if(NOT EXISTS "${executable}")
        # ctest reports it as not run (a failure): the target has not been built.
        add_test("${target}.not_built" "${executable}")
        return()
    endif()
    set(result 0)
    set(output "")
    if("${executable}" IS_NEWER_THAN "${listing_file}")
        execute_process(COMMAND ${emulator} "${executable}" --list_content=DOT
                        RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE listing TIMEOUT 60)
        if(result EQUAL 0)
            file(WRITE "${listing_file}" "${listing}")
        endif()
    else()
        file(READ "${listing_file}" listing)
    endif()
    set(commands "")
    if(result EQUAL 0)
        _boost_test_case_commands("${target}" "${executable}" "${listing}" "${timeout}" "${one_at_a_time}"
                                  "${emulator}" commands)
    endif()
    if(commands STREQUAL "")
        # One entry that fails, saying why (a failed listing is not kept: the next run lists again).
        string(SUBSTRING "${output}${listing}" 0 400 said)
        string(REPLACE "\n" " | " said "${said}")
        add_test("${target}.list_content" "${cmake_command}" -E echo
                 "${executable} --list_content=DOT gave no test cases (exit ${result}): ${said}")
        set_tests_properties("${target}.list_content" PROPERTIES WILL_FAIL TRUE)
        return()
    endif()
    cmake_language(EVAL CODE "${commands}")
endfunction()

#include "tunnel/port_policy.hpp"

#include <boost/test/unit_test.hpp>

using namespace tunnel;

namespace {
std::vector<port_range> ok(std::string_view text) {
    auto r = parse_port_list(text);
    auto const* error = std::get_if<std::string>(&r);
    BOOST_REQUIRE_MESSAGE(!error, (error ? *error : std::string()));
    return std::get<std::vector<port_range>>(r);
}
std::string bad(std::string_view text) {
    auto r = parse_port_list(text);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), "'" << text << "' should be refused");
    return std::get<std::string>(r);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(port_policy_rules)

BOOST_AUTO_TEST_CASE(lists_and_ranges) {
    BOOST_TEST((ok("22") == std::vector<port_range>{{22, 22}}));
    BOOST_TEST((ok("22,8000-8999") == std::vector<port_range>{{22, 22}, {8000, 8999}}));
    BOOST_TEST((ok(" 22 , 80 - 81 ") == std::vector<port_range>{{22, 22}, {80, 81}}));
    BOOST_TEST((ok("1-65535") == std::vector<port_range>{{1, 65535}}));
    BOOST_TEST((ok("443-443") == std::vector<port_range>{{443, 443}}));
}

BOOST_AUTO_TEST_CASE(bad_lists_say_why) {
    BOOST_TEST(bad("").find("empty") != std::string::npos);
    BOOST_TEST(bad("22,,80").find("empty entry") != std::string::npos);
    BOOST_TEST(bad("22,").find("empty entry") != std::string::npos);
    BOOST_TEST(bad("ssh").find("'ssh'") != std::string::npos);
    BOOST_TEST(bad("0").find("'0'") != std::string::npos);
    BOOST_TEST(bad("65536").find("'65536'") != std::string::npos);
    BOOST_TEST(bad("-80").find("'-80'") != std::string::npos);
    BOOST_TEST(bad("80-").find("'80-'") != std::string::npos);
    BOOST_TEST(bad("9000-8000").find("ends before it starts") != std::string::npos);
    BOOST_TEST(bad("1-2-3").find("'1-2-3'") != std::string::npos);
    BOOST_TEST(bad("+80").find("'+80'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(deny_wins_and_empty_allow_means_all) {
    port_policy p;
    BOOST_TEST(p.allows(1));
    BOOST_TEST(p.allows(65535));
    p.allow = ok("22,8000-8999");
    BOOST_TEST(p.allows(22));
    BOOST_TEST(p.allows(8000));
    BOOST_TEST(p.allows(8999));
    BOOST_TEST(!p.allows(7999));
    BOOST_TEST(!p.allows(9000));
    BOOST_TEST(!p.allows(23));
    p.deny = ok("8080");
    BOOST_TEST(!p.allows(8080));
    BOOST_TEST(p.allows(8081));
    port_policy deny_only;
    deny_only.deny = ok("23,25");
    BOOST_TEST(!deny_only.allows(23));
    BOOST_TEST(deny_only.allows(24));
}

BOOST_AUTO_TEST_CASE(refusals_name_the_port_or_the_limit) {
    port_policy p;
    p.allow = ok("80");
    p.max_connections = 2;
    BOOST_TEST(!p.refusal(80, 0));
    BOOST_TEST(!p.refusal(80, 1));
    BOOST_TEST(*p.refusal(80, 2) == "too many connections");
    BOOST_TEST(*p.refusal(81, 0) == "port 81 not allowed");
    BOOST_TEST(*p.refusal(81, 5) == "port 81 not allowed");  // the port is the first reason
    port_policy unlimited;
    BOOST_TEST(!unlimited.refusal(1, 1'000'000));
}

BOOST_AUTO_TEST_SUITE_END()

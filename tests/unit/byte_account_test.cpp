#include <boost/test/unit_test.hpp>
#include <thread>
#include <vector>

#include "tunnel/byte_account.hpp"

using tunnel::byte_lease;

BOOST_AUTO_TEST_SUITE(byte_account)

BOOST_AUTO_TEST_CASE(a_lease_gives_back_what_it_holds_when_it_goes) {
    tunnel::byte_account account(100);
    {
        byte_lease a(account);
        byte_lease b(account);
        a.add(60);
        b.add(50);
        BOOST_TEST(account.used() == 110u);
        BOOST_TEST(account.full());
        a.release(20);
        BOOST_TEST(a.held() == 40u);
        BOOST_TEST(!account.full());
        b.release(500);  // more than held: only what it holds
        BOOST_TEST(b.held() == 0u);
    }
    BOOST_TEST(account.used() == 0u);
}

BOOST_AUTO_TEST_CASE(a_waiter_is_woken_once_by_the_next_release) {
    tunnel::byte_account account(10);
    byte_lease lease(account);
    lease.add(20);
    int wakes = 0;
    account.notify_on_release([&] { ++wakes; });
    lease.add(5);  // adding wakes nobody
    BOOST_TEST(wakes == 0);
    lease.release(1);
    BOOST_TEST(wakes == 1);
    lease.release(1);  // the waiter was taken by the first release
    BOOST_TEST(wakes == 1);
}

BOOST_AUTO_TEST_CASE(counts_stay_exact_across_threads) {
    tunnel::byte_account account(1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            byte_lease lease(account);
            for (int i = 0; i < 10000; ++i) {
                lease.add(3);
                account.notify_on_release([] {});
                lease.release(2);
            }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(account.used() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

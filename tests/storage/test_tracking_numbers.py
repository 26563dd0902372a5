import random

import pytest

from storage.tracking_numbers import damm_check_digit, is_valid, new_tracking_number, normalise


def numbers(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [new_tracking_number(rng) for _ in range(count)]


def test_new_numbers_are_two_groups_of_four_digits_not_starting_with_zero():
    for number in numbers(500) + [new_tracking_number() for _ in range(200)]:
        assert len(number) == 9 and number[4] == "-"
        assert number.replace("-", "").isdigit()
        assert number[0] != "0"
        assert is_valid(number)


def test_known_damm_check_digit_matches_the_published_example():
    assert damm_check_digit("572") == 4
    assert normalise("5724") is None
    assert normalise("0000-0000") == "0000-0000"


@pytest.mark.parametrize("typed", ["48217737", "4821 7737", "4821-7737", "4821.7737", " 4821\u20137737 "])
def test_accepted_spellings_normalise_to_the_canonical_form(typed):
    body = "4821773"
    canonical = f"{body[:4]}-{body[4:]}{damm_check_digit(body)}"
    typed = typed.replace("7737", "773" + str(damm_check_digit(body)))
    assert normalise(typed) == canonical


@pytest.mark.parametrize("typed", ["", "4821-773", "4821-77301", "abcd-efgh", "4821--7730", "4821/7730", None])
def test_malformed_text_is_not_a_tracking_number(typed):
    assert normalise(typed) is None
    assert not is_valid(typed)


def test_every_single_digit_substitution_is_detected():
    for number in numbers(300):
        digits = number.replace("-", "")
        for position in range(len(digits)):
            for replacement in "0123456789":
                if replacement == digits[position]:
                    continue
                typo = digits[:position] + replacement + digits[position + 1:]
                assert normalise(typo) is None, (number, typo)


def test_every_adjacent_transposition_is_detected():
    for number in numbers(300, seed=11):
        digits = number.replace("-", "")
        for position in range(len(digits) - 1):
            first, second = digits[position], digits[position + 1]
            if first == second:
                continue
            swapped = digits[:position] + second + first + digits[position + 2:]
            assert normalise(swapped) is None, (number, swapped)


def test_default_numbers_come_from_a_secure_source_and_differ():
    assert len(set(new_tracking_number() for _ in range(200))) > 190

"""Parsing #预警 and routing by jurisdiction keywords: what the dispatcher decides from a text."""
import pytest

from bot import warnings as wn
from bot.app import load_content


@pytest.fixture(scope="module")
def content(config_module):
    return load_content(config_module)


@pytest.fixture(scope="module")
def config_module(tmp_path_factory):
    from tests.conftest import demo_config
    return demo_config(f"sqlite:///{tmp_path_factory.mktemp('p') / 'x.db'}")


def test_key_value_fields_in_one_line_with_both_colons(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("姓名:张三 电话：13812345678 地址:城关镇东关村3组 类型:冒充公检法 级别:红 说明:对方要求转账到安全账户 正在通话",
                         config_module, matcher, lib)
    assert (d.name, d.phone, d.place, d.fraud_type, d.level) == ("张三", "13812345678", "城关镇东关村3组", "gongjianfa", "红")
    assert d.note == "对方要求转账到安全账户 正在通话" and d.problems == []
    assert wn.route(config_module, d.place).id == "chengguan"


def test_fields_on_several_lines(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("姓名：李四\n电话：139 1234 5678\n辖区：河口\n类型：刷单", config_module, matcher, lib)
    assert (d.phone, d.place, d.fraud_type) == ("13912345678", "河口", "shuadan")
    assert d.level == config_module.warnings.default_level
    assert wn.route(config_module, d.place).id == "hekou"


def test_free_text_gives_phone_place_and_type(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("石桥乡柳湾村王某 15912345678 正在和自称公安局的人通话 对方说她涉嫌洗钱要转到安全账户",
                         config_module, matcher, lib)
    assert d.phone == "15912345678" and "柳湾村" in d.place and d.fraud_type == "gongjianfa"
    assert wn.route(config_module, d.place).id == "shiqiao"


def test_missing_phone_and_place_are_named(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("姓名:张三 类型:刷单", config_module, matcher, lib)
    assert [p.zh for p in d.problems] == ["缺少电话", "缺少辖区/地址"]


def zh(d):
    return "；".join(p.zh for p in d.problems)


@pytest.mark.parametrize("level", ["紫", "特急", "red!"])
def test_an_unknown_level_is_refused_with_the_allowed_ones_not_downgraded(config_module, content, level):
    lib, matcher = content
    d = wn.parse_warning(f"电话:13812345678 地址:东关村 级别:{level}", config_module, matcher, lib)
    assert f"级别“{level}”不认识：只能是 红、橙、黄" in zh(d) and d.level == ""


@pytest.mark.parametrize("phone", ["1381234", "138123456789", "2381234567"])
def test_a_phone_of_the_wrong_shape_is_called_malformed_not_missing(config_module, content, phone):
    lib, matcher = content
    d = wn.parse_warning(f"电话:{phone} 地址:东关村", config_module, matcher, lib)
    assert f"电话“{phone}”不是手机号（11位）或带区号的座机号" in zh(d) and "缺少电话" not in zh(d)
    free = wn.parse_warning(f"张三 {phone} 东关村 刷单", config_module, matcher, lib)
    assert "不是手机号" in zh(free)


def test_free_text_names_the_person_the_place_and_the_type(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("张三 13812345678 东关村 刷单", config_module, matcher, lib)
    assert (d.name, d.phone, d.place, d.fraud_type, d.problems) == ("张三", "13812345678", "东关村", "shuadan", [])


def test_an_address_followed_by_the_story_keeps_the_story_in_the_note(config_module, content):
    """A paste where the story follows 地址: (longer than the place column): the place is its first
    place-like phrase and the whole story stays in the note, not lost."""
    lib, matcher = content
    story = "，" + "对方自称公安局民警，说她的银行卡涉嫌洗钱，要求她把钱转到安全账户配合调查，" * 6
    d = wn.parse_warning(f"电话:13812345678 地址:城关镇东关村3组{story}", config_module, matcher, lib)
    assert d.problems == [] and d.place == "城关镇东关村3组" and story.strip("，") in d.note


def test_fields_longer_than_their_columns_are_refused_naming_each(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("电话:13812345678 地址:" + "很长的地名" * 50 + " 姓名:" + "欧阳" * 11 + " 说明:" + "情况" * 1001,
                         config_module, matcher, lib)
    assert "地址太长（250字，最多200字）" in zh(d) and "姓名太长（22字，最多20字）" in zh(d) and "说明太长（2002字" in zh(d)


def test_a_type_that_is_not_recognised_is_said_in_the_answer(config_module, content):
    lib, matcher = content
    d = wn.parse_warning("电话:13812345678 地址:东关村 类型:外星人", config_module, matcher, lib)
    assert d.problems == [] and d.fraud_type is None and d.remarks == ["类型“外星人”未识别，记为未识别"]


def test_unknown_place_goes_to_the_centre(config_module):
    assert wn.route(config_module, "外省某市某区") is None


def test_longest_keyword_wins(config_module):
    # 石桥乡 (shiqiao) is longer than 城关 and decides
    assert wn.route(config_module, "石桥乡城关组").id == "shiqiao"


def test_numbers_are_normalised():
    assert wn.normalize_number("收到 yj-20261128-007") == "YJ-20261128-007"
    assert wn.normalize_number("#签收 YJ20261128007") == "YJ-20261128-007"
    assert wn.normalize_number("收到") is None

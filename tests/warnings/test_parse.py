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
    assert d.note == "对方要求转账到安全账户 正在通话" and d.missing == []
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
    assert d.missing == ["电话", "辖区/地址"]


def test_unknown_place_goes_to_the_centre(config_module):
    assert wn.route(config_module, "外省某市某区") is None


def test_longest_keyword_wins(config_module):
    # 石桥乡 (shiqiao) is longer than 城关 and decides
    assert wn.route(config_module, "石桥乡城关组").id == "shiqiao"


def test_numbers_are_normalised():
    assert wn.normalize_number("收到 yj-20261128-007") == "YJ-20261128-007"
    assert wn.normalize_number("#签收 YJ20261128007") == "YJ-20261128-007"
    assert wn.normalize_number("收到") is None

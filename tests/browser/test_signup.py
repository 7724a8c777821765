"""A student signs up with the class code on a phone and sees the student home, in Chinese and in English."""

from playwright.sync_api import expect

from tests import factories


def test_student_signs_up_with_class_code_in_both_languages(live_server_url, phone, shot):
    province = factories.region(code="430000", name="湖南省", name_en="Hunan Province", level=1)
    city = factories.region(code="430100", name="长沙市", name_en="Changsha", level=2, parent=province)
    county = factories.region(code="430104", name="岳麓区", name_en="Yuelu District", level=3, parent=city)
    school = factories.school(
        region=county, name="岳麓区第一初级中学", name_en="Yuelu No. 1 Junior Middle School"
    )
    klass = factories.school_class(school=school, grade=7, name="3班")
    factories.campaign(region=province, title="全省青少年禁毒知识竞赛")

    page = phone
    page.goto(f"{live_server_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    shot(page, "home-guest-zh-phone")
    page.get_by_role("link", name="用班级加入码加入").click()
    page.get_by_label("用户名").fill("xiaoyu2014")
    page.get_by_label("昵称").fill("小鱼")
    page.get_by_label("班级加入码").fill(klass.join_code.lower())
    page.locator("input[name=password1]").fill("Qk-very-secret-42")
    page.locator("input[name=password2]").fill("Qk-very-secret-42")
    shot(page, "signup-zh-phone")
    page.get_by_role("button", name="注册").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("小鱼")
    expect(page.locator("#student-h")).to_be_visible()
    expect(page.get_by_text("七年级3班")).to_be_visible()
    expect(page.get_by_text("岳麓区第一初级中学")).to_be_visible()
    expect(page.get_by_text("全省青少年禁毒知识竞赛")).to_be_visible()
    shot(page, "home-student-zh-phone")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, 小鱼")
    expect(page.get_by_text("Grade 7, Class 3")).to_be_visible()
    expect(page.get_by_text("Yuelu No. 1 Junior Middle School")).to_be_visible()
    shot(page, "home-student-en-phone")

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_text("七年级3班")).to_be_visible()

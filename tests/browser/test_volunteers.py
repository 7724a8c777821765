"""Volunteer service end to end in a real browser (issue #6): a newcomer creates an account and registers as a
volunteer on a phone, signs up for a shift, checks in by opening the organiser's rotating QR code, checks out;
the organiser approves the hours in the queue; the volunteer downloads the certificate, whose PDF text is read
back, and a stranger verifies it — for a volunteer in Chinese and one in English, side by side.

The shift starts ten minutes after the test begins: check-in opens an hour before, so both volunteers check in
for real. A shift served takes hours, and only whole minutes of service count, so instead of waiting the test
moves the shift and its sign-ups two hours into the past once both are checked in — exactly what the clock
moving on two hours would do — and the volunteers check out "afterwards".
"""

import datetime as dt
import io
import re

import pypdf
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import DESKTOP, PHONE
from volunteers import checkin_codes, services
from volunteers.certificates import hours_text
from volunteers.models import Certificate, HourRecord, Shift, Signup, VolunteerProfile
from volunteers.selectors import masked_name

PASSWORD = "Qk-very-secret-42"
ISSUER = "长沙市岳麓区禁毒委员会办公室"


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()


def create_account(page, *, username: str, nickname: str) -> None:
    """allauth's sign-up page, reached from the volunteer pages: no class code for an adult."""
    expect(page).to_have_url(re.compile(r"/accounts/signup/\?next="))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=email]").fill(f"{username}@example.com")
    page.locator("input[name=nickname]").fill(nickname)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()


def fill_registration(page, *, county, real_name: str, phone: str, birth_date: str, emergency: tuple) -> None:
    expect(page).to_have_url(re.compile(r"/volunteers/register/"))
    page.locator("input[name=real_name]").fill(real_name)
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=birth_date]").fill(birth_date)
    page.locator("select[name=region]").select_option(str(county.pk))
    page.locator("input[name=emergency_contact_name]").fill(emergency[0])
    page.locator("input[name=emergency_contact_phone]").fill(emergency[1])


def two_hours_later(shift: Shift) -> None:
    """Move the shift and everything its sign-ups recorded two hours into the past: the clock moving on."""
    jump = dt.timedelta(hours=2)
    Shift.objects.filter(pk=shift.pk).update(starts_at=shift.starts_at - jump, ends_at=shift.ends_at - jump)
    for signup in Signup.objects.filter(shift=shift):
        signup.created_at -= jump
        if signup.checked_in_at:
            signup.checked_in_at -= jump
        signup.save(update_fields=["created_at", "checked_in_at"])


def said(page):
    """The page's messages (the outcome of the last form sent)."""
    return page.locator("main .messages")


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return "".join(reader.pages[0].extract_text().split())


def test_a_newcomer_serves_a_shift_and_gets_a_certificate(live_server_url, browser, shot):
    base = live_server_url
    province = factories.region(code="430000", name="湖南省", name_en="Hunan Province", level=1)
    city = factories.region(code="430100", name="长沙市", name_en="Changsha", level=2, parent=province)
    county = factories.region(code="430104", name="岳麓区", name_en="Yuelu District", level=3, parent=city)
    organiser = factories.user(
        username="yuelu", password=PASSWORD, is_organiser=True, region=county, first_name="王晓东"
    )
    campaign = factories.campaign(region=county, title="6·26禁毒宣传月", created_by=organiser)
    campaign.organisers.set([organiser])
    now = timezone.now()
    starts_at = now + dt.timedelta(minutes=10)
    activity = services.activity_create(
        campaign=campaign,
        created_by=organiser,
        title="禁毒宣传进社区",
        description="在社区广场发放禁毒宣传资料，讲解展板。",
        address="岳麓区麓山南路1号社区广场",
        region=county,
        shifts=[
            {
                "role": "宣传员",
                "starts_at": starts_at,
                "ends_at": starts_at + dt.timedelta(hours=2),
                "capacity": 5,
            }
        ],
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=starts_at,
    )
    shift = activity.shifts.get()

    contexts = []

    def new_page(options: dict, language: str):
        context = browser.new_context(**options, locale="zh-CN" if language == "zh-hans" else "en-US")
        context.add_cookies([{"name": "qk_language", "value": language, "url": base}])
        contexts.append(context)
        return context.new_page()

    try:
        zh = new_page(PHONE, "zh-hans")
        en = new_page(PHONE, "en")

        # --- Chinese: from the home page through the activity to a new account and a volunteer profile ------
        zh.goto(f"{base}/")
        zh.get_by_role("link", name=re.compile("成为志愿者")).click()
        zh.get_by_role("link", name="禁毒宣传进社区").click()
        expect(zh.get_by_role("heading", level=1)).to_have_text("禁毒宣传进社区")
        expect(zh.get_by_role("button", name="报名此班次")).to_have_count(0)
        shot(zh, "volunteer-activity-guest-zh-phone")
        zh.get_by_role("main").get_by_role("link", name="成为志愿者").click()
        expect(said(zh)).to_contain_text("请先创建账户")
        shot(zh, "volunteer-create-account-zh-phone")
        create_account(zh, username="xiaoyu_zhang", nickname="晓雨")
        fill_registration(
            zh,
            county=county,
            real_name="张晓雨",
            phone="138 1234 5678",
            birth_date="1990-05-01",
            emergency=("张建国", "13900001111"),
        )
        zh.get_by_label("急救").check()
        shot(zh, "volunteer-register-zh-phone")
        zh.get_by_role("button", name="注册").click()

        zhang = VolunteerProfile.objects.get(real_name="张晓雨")
        assert zhang.volunteer_number.startswith("V430104") and zhang.phone == "13812345678"
        # Registration comes back to the activity it started from.
        expect(zh.get_by_role("heading", level=1)).to_have_text("禁毒宣传进社区")
        expect(said(zh)).to_contain_text(f"你的志愿者编号是 {zhang.volunteer_number}")
        zh.get_by_role("button", name="报名此班次").click()
        expect(said(zh)).to_contain_text("报名成功")
        expect(zh.locator(".shift-card.is-mine")).to_contain_text("已报名")
        shot(zh, "volunteer-signed-up-zh-phone")

        # --- English: from the home page through the activity list's "Become a volunteer" -------------------
        en.goto(f"{base}/")
        en.get_by_role("link", name=re.compile("become a volunteer")).click()
        en.locator("main .section-head").get_by_role("link", name="Become a volunteer").click()
        create_account(en, username="sam_lee", nickname="Sam")
        fill_registration(
            en,
            county=county,
            real_name="Sam Lee",
            phone="0731-88886666",
            birth_date="1985-11-20",
            emergency=("Alex Lee", "13900002222"),
        )
        shot(en, "volunteer-register-en-phone")
        en.get_by_role("button", name="Register").click()
        sam = VolunteerProfile.objects.get(real_name="Sam Lee")
        expect(en.get_by_role("heading", level=1)).to_have_text("My volunteering")
        expect(said(en)).to_contain_text(f"Your volunteer number is {sam.volunteer_number}")
        en.get_by_role("link", name="Find an activity").first.click()
        en.get_by_role("link", name="禁毒宣传进社区").click()
        en.get_by_role("button", name="Sign up for this shift").click()
        expect(said(en)).to_contain_text("You are signed up")
        assert Signup.objects.filter(shift=shift, status=Signup.Status.CONFIRMED).count() == 2

        # --- the organiser shows the check-in QR code; the volunteers open its link on their phones ---------
        desk = new_page(DESKTOP, "zh-hans")
        sign_in(desk, base, "yuelu")
        desk.goto(f"{base}/volunteers/manage/")
        desk.get_by_role("link", name="禁毒宣传进社区").first.click()
        desk.get_by_role("link", name="签到二维码").click()
        expect(desk.locator("[data-qr-svg] svg")).to_be_visible()
        shot(desk, "volunteer-qr-zh-desktop")
        link = desk.locator("[data-qr-link]").get_attribute("href")
        match = re.search(rf"/volunteers/checkin/{activity.pk}/([A-Z2-7]{{10}})/$", link)
        assert match, link
        payload = desk.context.request.get(
            f"{base}/volunteers/manage/activities/{activity.pk}/qr.json"
        ).json()
        # The page refreshes its code from qr.json: the same code, or the next minute's.
        assert checkin_codes.token_valid(
            activity.checkin_secret, activity.pk, payload["token"], timezone.now()
        )
        assert payload["url"].endswith(f"/volunteers/checkin/{activity.pk}/{payload['token']}/")

        zh.goto(link)
        expect(zh.get_by_role("heading", level=1)).to_have_text("签到")
        zh.get_by_role("button", name="签到").click()
        expect(said(zh)).to_contain_text("感谢你的服务")
        expect(zh.get_by_role("heading", level=1)).to_have_text("签退")
        shot(zh, "volunteer-checked-in-zh-phone")
        en.goto(payload["url"])
        en.get_by_role("button", name="Check in").click()
        expect(said(en)).to_contain_text("Thank you for serving!")

        # Checking out before the shift has begun records nothing, and says why.
        zh.get_by_role("button", name="签退").click()
        expect(said(zh)).to_contain_text("班次时间内尚无服务时长")
        assert not HourRecord.objects.exists()

        desk.goto(f"{base}/volunteers/manage/activities/{activity.pk}/")
        expect(desk.locator(".vm-person.is-in")).to_have_count(2)
        expect(desk.locator(".vm-roster")).to_contain_text("张晓雨")
        shot(desk, "volunteer-roster-checked-in-zh-desktop")

        # --- two hours later: both check out on their own page -------------------------------------------
        two_hours_later(shift)
        zh.goto(f"{base}/volunteers/me/")
        zh.locator(".shift-card").get_by_role("button", name="签退").click()
        expect(said(zh)).to_contain_text("已签退")
        en.goto(f"{base}/volunteers/me/")
        en.locator(".shift-card").get_by_role("button", name="Check out").click()
        expect(said(en)).to_contain_text("Checked out:")
        records = {record.volunteer_id: record for record in HourRecord.objects.all()}
        assert set(records) == {zhang.pk, sam.pk}
        for record in records.values():
            assert record.status == HourRecord.Status.PENDING and not record.flagged
            assert (
                105 <= record.minutes <= 125
            )  # the shift's first two hours, less the ten minutes to its start
        shot(zh, "volunteer-me-pending-zh-phone")

        # --- the organiser approves both in the queue -------------------------------------------------------
        desk.goto(f"{base}/volunteers/manage/hours/")
        expect(desk.locator(".vm-record")).to_have_count(2)
        for record in records.values():
            desk.locator(f"#rec-{record.pk}").check()
        shot(desk, "volunteer-queue-zh-desktop")
        desk.get_by_role("button", name="审核通过所选记录").click()
        expect(said(desk)).to_contain_text("已审核通过2条记录")
        assert HourRecord.objects.filter(status=HourRecord.Status.APPROVED).count() == 2

        # --- each volunteer issues and downloads their certificate; a stranger verifies it ------------------
        stranger = new_page(PHONE, "zh-hans")
        for page, profile, issue, verify_heading in (
            (zh, zhang, "为我已审核的时长出具证明", "本证明真实有效"),
            (en, sam, "Issue a certificate of my approved hours", "This certificate is genuine"),
        ):
            hours = hours_text(records[profile.pk].minutes)
            page.goto(f"{base}/volunteers/me/")
            expect(page.locator(".figure").first).to_contain_text(hours)
            page.get_by_role("button", name=issue).click()
            certificate = Certificate.objects.get(volunteer=profile)
            expect(page.get_by_role("link", name=certificate.number)).to_be_visible()
            page.evaluate("window.scrollTo(0, 0)")
            shot(page, f"volunteer-certificate-issued-{'zh' if page is zh else 'en'}-phone")
            href = page.get_by_role("link", name=certificate.number).get_attribute("href")
            response = page.context.request.get(f"{base}{href}")
            assert response.ok and response.headers["content-type"] == "application/pdf"
            text = pdf_text(response.body())
            for expected in (
                profile.real_name.replace(" ", ""),
                profile.volunteer_number,
                hours,
                certificate.number,
            ):
                assert expected in text, (expected, text)
            assert ISSUER in text and "禁毒宣传进社区" in text
            verify_url = f"{base}/volunteers/verify/{certificate.verification_token}/"
            assert verify_url in text
            assert ("志愿服务证明" if page is zh else "CertificateofVolunteerService") in text

            stranger.context.add_cookies(
                [{"name": "qk_language", "value": "zh-hans" if page is zh else "en", "url": base}]
            )
            stranger.goto(verify_url)
            expect(stranger.get_by_text(verify_heading)).to_be_visible()
            card = stranger.locator(".verify-card")
            # The name is shown masked (张晓雨 → 张**), to be compared with the certificate in hand.
            expect(card).to_contain_text(masked_name(profile.real_name))
            assert profile.real_name not in card.inner_text()
            expect(card).to_contain_text(certificate.number)
            expect(card).to_contain_text(ISSUER)
            content = stranger.content()
            for private in (
                profile.phone,
                profile.volunteer_number,
                profile.emergency_contact_phone,
                "1990",
                "1985",
            ):
                assert private not in content
        shot(stranger, "volunteer-certificate-verified-en-phone")
    finally:
        for context in contexts:
            context.close()

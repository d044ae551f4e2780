"""Image processing (`x-oss-process=image/...`) through oss2 and the V2 SDK, checked by opening the answer
with Pillow as an application would."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from PIL import Image

from tests.conftest import new_bucket_name
from tests.iam import allow, new_user, policy
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess
from tests.v2sdk import v2_client


@pytest.fixture
def bucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    b = oss2.Bucket(auth, server.endpoint, new_bucket_name("img"), region=REGION)
    b.create_bucket()
    picture = Image.new("RGB", (400, 200), (200, 30, 30))
    picture.paste((30, 30, 200), (200, 0, 400, 200))  # left half red, right half blue
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    b.put_object("photo.jpg", out.getvalue(), headers={"Content-Type": "image/jpeg"})
    b.put_object("notes.txt", b"not an image")
    yield b
    for o in oss2.ObjectIterator(b):
        b.delete_object(o.key)
    b.delete_bucket()


def _image(bucket: oss2.Bucket, process: str) -> Image.Image:
    r = bucket.get_object("photo.jpg", process=process)
    return Image.open(io.BytesIO(r.read()))


def test_resize_crop_rotate_and_format(bucket: oss2.Bucket) -> None:
    assert _image(bucket, "image/resize,w_100").size == (100, 50)  # lfit keeps the ratio
    assert _image(bucket, "image/resize,m_fixed,w_50,h_50").size == (50, 50)
    assert _image(bucket, "image/resize,m_fill,w_50,h_50").size == (50, 50)
    padded = _image(bucket, "image/resize,m_pad,w_100,h_100,color_00FF00")
    assert padded.size == (100, 100) and padded.getpixel((50, 2))[1] > 200  # green bands above and below
    assert _image(bucket, "image/resize,w_800").size == (400, 200)  # never enlarged by default
    assert _image(bucket, "image/resize,w_800,limit_0").size == (800, 400)
    assert _image(bucket, "image/crop,w_100,h_50,g_se").size == (100, 50)
    right = _image(bucket, "image/crop,x_250,y_0,w_100,h_100")
    r, _, b = right.convert("RGB").getpixel((50, 50))
    assert b > 150 and r < 100  # from the blue half
    assert _image(bucket, "image/rotate,90").size == (200, 400)
    png = bucket.get_object("photo.jpg", process="image/resize,w_40/format,png")
    assert png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.read())).format == "PNG"
    small = len(bucket.get_object("photo.jpg", process="image/quality,Q_10").read())
    large = len(bucket.get_object("photo.jpg", process="image/quality,Q_95").read())
    assert small < large
    circle = _image(bucket, "image/circle,r_50")
    assert circle.size == (100, 100) and circle.getpixel((0, 0))[3] == 0  # transparent corner
    assert _image(bucket, "image/blur,r_3,s_2/bright,20/contrast,-10/sharpen,120").size == (400, 200)


def test_info_and_average_hue(bucket: oss2.Bucket) -> None:
    info = json.loads(bucket.get_object("photo.jpg", process="image/info").read())
    assert info["ImageWidth"]["value"] == "400" and info["ImageHeight"]["value"] == "200"
    assert info["Format"]["value"] == "jpg"
    hue = json.loads(bucket.get_object("photo.jpg", process="image/average-hue").read())["RGB"]
    r, b = int(hue[2:4], 16), int(hue[6:8], 16)
    assert 90 < r < 140 and 90 < b < 140  # the mean of the red and the blue half


def test_v2_sdk_process_parameter(server: ServerProcess, bucket: oss2.Bucket) -> None:
    client = v2_client(server.endpoint)
    request = oss.GetObjectRequest(bucket=bucket.bucket_name, key="photo.jpg", process="image/resize,h_20")
    assert Image.open(io.BytesIO(client.get_object(request).body.read())).size == (40, 20)


def test_bad_processes_get_a_clear_error(bucket: oss2.Bucket) -> None:
    for process in (
        "image/resize,w_0",
        "image/resize,m_stretch,w_10",
        "image/explode,w_10",
        "image/rotate,400",
        "image/format,heic9",
    ):
        with pytest.raises(oss2.exceptions.ServerError) as err:
            bucket.get_object("photo.jpg", process=process)
        assert (err.value.status, err.value.code) == (400, "InvalidArgument"), process
    with pytest.raises(oss2.exceptions.ServerError) as not_image:
        bucket.get_object("notes.txt", process="image/resize,w_10")
    assert (not_image.value.status, not_image.value.code) == (400, "InvalidImageFormat")
    with pytest.raises(oss2.exceptions.ServerError) as video:
        bucket.get_object("photo.jpg", process="video/snapshot,t_1000")
    assert video.value.status == 501


def test_processing_needs_read_access(server: ServerProcess, bucket: oss2.Bucket) -> None:
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, bucket.bucket_name, region=REGION)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("photo.jpg", process="image/resize,w_10")
    bucket.put_object_acl("photo.jpg", oss2.OBJECT_ACL_PUBLIC_READ)
    thumb = anonymous.get_object("photo.jpg", process="image/resize,w_10").read()
    assert Image.open(io.BytesIO(thumb)).size == (10, 5)


def test_styles_with_oss2_and_the_v2_sdk(server: ServerProcess, bucket: oss2.Bucket) -> None:
    bucket.put_bucket_style("thumb", "image/resize,w_50")
    got = bucket.get_bucket_style("thumb")
    assert (got.name, got.content) == ("thumb", "image/resize,w_50") and got.create_time
    assert _image(bucket, "style/thumb").size == (50, 25)
    bucket.put_bucket_style("thumb", "image/resize,w_20")  # replaced
    assert _image(bucket, "style/thumb").size == (20, 10)
    client = v2_client(server.endpoint)
    client.put_style(
        oss.PutStyleRequest(
            bucket=bucket.bucket_name, style_name="gray", style=oss.StyleContent(content="image/rotate,90")
        )
    )
    listed = client.list_style(oss.ListStyleRequest(bucket=bucket.bucket_name)).style_list.styles
    assert sorted(s.name for s in listed) == ["gray", "thumb"]
    bucket.delete_bucket_style("thumb")
    with pytest.raises(oss2.exceptions.ServerError) as gone:
        bucket.get_bucket_style("thumb")
    assert (gone.value.status, gone.value.code) == (404, "NoSuchStyle")
    with pytest.raises(oss2.exceptions.ServerError) as unknown:
        bucket.get_object("photo.jpg", process="style/thumb")
    assert unknown.value.code == "NoSuchStyle"
    with pytest.raises(oss2.exceptions.ServerError) as bad:
        bucket.put_bucket_style("broken", "image/explode,w_1")
    assert (bad.value.status, bad.value.code) == (400, "InvalidArgument")


def test_process_object_saves_the_result(bucket: oss2.Bucket) -> None:
    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    result = bucket.process_object(
        "photo.jpg",
        f"image/resize,w_80/format,png|sys/saveas,o_{b64('thumbs/photo.png')},b_{b64(bucket.bucket_name)}",
    )
    assert (result.bucket, result.object, result.process_status) == (
        bucket.bucket_name,
        "thumbs/photo.png",
        "OK",
    )
    saved = bucket.get_object("thumbs/photo.png")
    assert saved.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(saved.read())).size == (80, 40)
    assert result.fileSize == bucket.head_object("thumbs/photo.png").content_length
    same_bucket = bucket.process_object("photo.jpg", f"image/resize,w_10|sys/saveas,o_{b64('t2.jpg')}")
    assert (same_bucket.bucket, same_bucket.object) == ("", "t2.jpg")  # OSS names the bucket only if asked
    assert bucket.object_exists("t2.jpg")
    with pytest.raises(oss2.exceptions.ServerError) as no_target:
        bucket.process_object("photo.jpg", "image/resize,w_10")
    assert no_target.value.code == "InvalidArgument"


def test_saving_needs_put_object_on_the_target(server: ServerProcess, bucket: oss2.Bucket) -> None:
    _, auth = new_user(server, policy(allow("oss:GetObject", f"acs:oss:*:*:{bucket.bucket_name}/*")))
    reader = oss2.Bucket(auth, server.endpoint, bucket.bucket_name, region=REGION)
    assert Image.open(
        io.BytesIO(reader.get_object("photo.jpg", process="image/resize,w_10").read())
    ).size == (10, 5)
    target = base64.urlsafe_b64encode(b"copy.jpg").decode()
    with pytest.raises(oss2.exceptions.AccessDenied):
        reader.process_object("photo.jpg", f"image/resize,w_10|sys/saveas,o_{target}")
    assert not bucket.object_exists("copy.jpg")

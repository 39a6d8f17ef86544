"""Small file operations through Hadoop's FileSystem (io/hadoop_fs), on the local file system."""
from __future__ import annotations

from csc_demand.io import hadoop_fs


def _tree(folder) -> dict[str, str]:
    """Files and their text, without the checksum files Hadoop's local file system writes beside each."""
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".crc")}


def test_copy_folder_from_local_copies_nested_files_and_overwrites_on_a_second_copy(spark, tmp_path):
    source, target = tmp_path / "report", tmp_path / "lakehouse" / "report"
    (source / "csv").mkdir(parents=True)
    (source / "index.html").write_text("first")
    (source / "csv" / "rates.csv").write_text("a,b\n")
    hadoop_fs.copy_folder_from_local(spark, str(source), f"file:{target}")
    assert _tree(target) == {"index.html": "first", "csv/rates.csv": "a,b\n"}

    (source / "index.html").write_text("second")
    hadoop_fs.copy_folder_from_local(spark, str(source), str(target))
    # the same two files, the new text; the folder copied into its namesake, not nested inside it
    assert _tree(target) == {"index.html": "second", "csv/rates.csv": "a,b\n"}


def test_read_text_reads_a_file_uri_through_hadoop_and_a_plain_path(spark, tmp_path):
    (tmp_path / "00000000000000000000.json").write_text('{"commitInfo":{}}\nsecond line é\n', encoding="utf-8")
    expected = '{"commitInfo":{}}\nsecond line é\n'
    assert hadoop_fs.read_text(spark, f"file:{tmp_path}/00000000000000000000.json") == expected
    assert hadoop_fs.read_text(spark, str(tmp_path / "00000000000000000000.json")) == expected


def test_a_report_folder_on_a_hadoop_file_system_loses_the_previous_report_and_keeps_other_files(spark, tmp_path):
    from csc_demand.stages.report import remove_previous_report_at

    files = {"index.html": "", "la_201.html": "", "data/rates.csv": "", "data/notes.csv": "theirs",
             "notes.txt": "theirs", "output_check.json": '{"outputs": [{"output": "data/rates.csv"}]}'}
    for name, text in files.items():
        (tmp_path / "report" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "report" / name).write_text(text)
    assert remove_previous_report_at(spark, f"file:{tmp_path}/report") == 4
    assert _tree(tmp_path / "report") == {"data/notes.csv": "theirs", "notes.txt": "theirs"}
    assert remove_previous_report_at(spark, f"file:{tmp_path}/none") == 0

"""Ruby: Gemfile `gem` calls, groups, platforms, sources and conditions — read, never evaluated."""

from __future__ import annotations

import pytest

from registry.ecosystems import ruby
from registry.ecosystems.base import ManifestError
from tests.registry.ecosystems.support import assert_defines, dep, names, of_type, parse_corpus, parse_text

JEKYLL = ("ruby", "jekyll__jekyll", "Gemfile")
DEVISE = ("ruby", "heartcombo__devise", "Gemfile")


def test_jekyll_gems_outside_groups_are_runtime_and_gemspec_is_not_a_gem() -> None:
    result = parse_corpus(ruby, *JEKYLL)
    assert_defines(result, "ruby", [])
    assert [(d.package, d.declared_range) for d in of_type(result, "runtime")] == [("rake", "~> 13.0")]
    assert "jekyll" not in names(result.dependencies)
    assert len(result.dependencies) == 59


def test_jekyll_group_blocks_set_the_dep_type() -> None:
    result = parse_corpus(ruby, *JEKYLL)
    assert names(of_type(result, "development")) == ["launchy", "pry", "pry-byebug"]
    assert len(of_type(result, "test")) == 22
    assert dep(result, "activesupport").dep_type == "test"
    assert dep(result, "activesupport").declared_range == "< 7.1.0"
    assert names(of_type(result, "benchmark")) == ["benchmark-ips", "rbtrace", "ruby-prof", "stackprof"]


def test_jekyll_optional_group_option_is_a_hint_not_a_group() -> None:
    psych = dep(parse_corpus(ruby, *JEKYLL), "psych")
    assert (psych.declared_range, psych.dep_type, psych.hints) == ("~> 4.0", "rdoc", {"optional": True})


def test_jekyll_modifiers_and_if_blocks_become_conditions() -> None:
    result = parse_corpus(ruby, *JEKYLL)
    assert dep(result, "pry-byebug").hints == {"conditions": ['unless RUBY_ENGINE == "jruby"']}
    assert dep(result, "mutex_m").hints == {"conditions": ['if RUBY_VERSION >= "3.4"']}
    assert dep(result, "http_parser.rb").hints == {"conditions": ['if RUBY_ENGINE == "jruby"']}
    assert dep(result, "stackprof").hints == {"conditions": ['if ENV["BENCHMARK"]']}
    assert dep(result, "nokogiri").hints == {}  # after the `if ... end` inside the group closed


def test_jekyll_platform_blocks_and_path_sources() -> None:
    result = parse_corpus(ruby, *JEKYLL)
    liquid_c = dep(result, "liquid-c")
    assert (liquid_c.declared_range, liquid_c.dep_type) == ("~> 4.0", "jekyll_optional_dependencies")
    assert liquid_c.hints == {"platforms": ["ruby", "mswin", "mingw", "x64_mingw"]}
    tzinfo = dep(result, "tzinfo")
    assert tzinfo.declared_range == ""  # ENV["TZINFO_VERSION"] is an expression: kept as written, never evaluated
    assert tzinfo.hints["dynamic_version"] == 'ENV["TZINFO_VERSION"]'
    theme = dep(result, "test-theme")
    assert theme.hints == {"local_path": 'File.expand_path("test/fixtures/test-theme", __dir__)'}
    assert dep(result, "jekyll-docs").hints["local_path"] == "../docs"


def test_devise_options_and_git_sources() -> None:
    result = parse_corpus(ruby, *DEVISE)
    assert dep(result, "rails").declared_range == "~> 8.1.0"
    mocha = dep(result, "mocha")
    assert (mocha.declared_range, mocha.dep_type, mocha.hints) == ("~> 2.1", "test", {"require": False})
    mongoid = dep(result, "mongoid")
    assert (mongoid.dep_type, mongoid.hints) == ("mongoid", {"github": "mongodb/mongoid", "branch": "9.0-stable"})
    sqlite = dep(result, "sqlite3")
    assert (sqlite.dep_type, sqlite.hints) == ("runtime", {"platforms": ["ruby"]})
    assert len(of_type(result, "runtime")) == 7


GEMFILE = """
source "https://rubygems.org"
ruby "3.3.0"
git_source(:github) { |repo| "https://github.com/#{repo}.git" }

gem "rails", ">= 7.0", "< 8" # several constraints
gem('pg', '~> 1.1')
gem "puma", :require => false, "platforms" => [:mri, :mingw]
gem "debug", platforms: %i[ mri windows ], require: "debug/prelude"
gem "sidekiq",
    "~> 7.0",
    group: :jobs
gem "bootsnap", require: false; gem "tzinfo-data", platforms: %i[windows jruby]
gem name_in_a_variable

=begin
gem "commented-out"
=end

group :development, :test do
  gem "rspec-rails", groups: [:ci]
  group :lint do
    gem "rubocop"
  end
end

group(:production) { }

git "https://github.com/rails/rails.git", branch: "main" do
  gem "activesupport"
end

path "vendor/engines" do
  gem "my_engine"
end

source "https://gems.example.com" do
  gem "private-gem", "1.0"
end

case RUBY_ENGINE
when "jruby"
  gem "jdbc"
else
  gem "native"
end

x = if ENV["CI"]
  1
end

install_if -> { RUBY_PLATFORM.include?("darwin") } do
  gem "terminal-notifier"
end

%w[a b].each do |n|
  gem "plugin-#{n}", "~> #{n}"
end
gem "interpolated", "~> #{RAILS}", 'single-#{not_interpolated}'

def helper; end
gem "last", "~> 1.0" unless ENV["SKIP"] # trailing
__END__
gem "after-end"
"""


def test_odd_but_valid_gemfile_syntax() -> None:
    result = parse_text(ruby, "Gemfile", GEMFILE)
    got = {d.package: (d.declared_range, d.dep_type) for d in result.dependencies}
    assert got == {
        "rails": (">= 7.0, < 8", "runtime"),
        "pg": ("~> 1.1", "runtime"),
        "puma": ("", "runtime"),
        "debug": ("", "runtime"),
        "sidekiq": ("~> 7.0", "jobs"),
        "bootsnap": ("", "runtime"),
        "tzinfo-data": ("", "runtime"),
        "rspec-rails": ("", "development,test,ci"),
        "rubocop": ("", "development,test,lint"),
        "activesupport": ("", "runtime"),
        "my_engine": ("", "runtime"),
        "private-gem": ("1.0", "runtime"),
        "jdbc": ("", "runtime"),
        "native": ("", "runtime"),
        "terminal-notifier": ("", "runtime"),
        "last": ("~> 1.0", "runtime"),
        "interpolated": ("single-#{not_interpolated}", "runtime"),
    }


def test_gem_options_in_both_hash_syntaxes_land_in_hints() -> None:
    result = parse_text(ruby, "Gemfile", GEMFILE)
    assert dep(result, "puma").hints == {"require": False, "platforms": ["mri", "mingw"]}
    assert dep(result, "debug").hints == {"platforms": ["mri", "windows"], "require": "debug/prelude"}
    assert dep(result, "activesupport").hints == {"git": "https://github.com/rails/rails.git", "branch": "main"}
    assert dep(result, "my_engine").hints == {"local_path": "vendor/engines"}
    assert dep(result, "private-gem").hints == {"source": "https://gems.example.com"}
    assert dep(result, "last").hints == {"conditions": ['unless ENV["SKIP"]']}
    assert dep(result, "native").hints == {}
    assert dep(result, "interpolated").hints == {"dynamic_version": '"~> #{RAILS}"'}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('group :test do\n  gem "rspec"\n', "never closed"),
        ('gem "a"\nend\n', "without an open block"),
        ('gem "unterminated\n', "never ends"),
        ('gem "a", [1, 2\n', "never ends"),
    ],
    ids=["missing-end", "stray-end", "open-string", "open-bracket"],
)
def test_malformed_gemfile_raises_manifest_error(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_text(ruby, "Gemfile", text)

"""Java: pom.xml dependencies, properties, dependencyManagement and parent inheritance."""

from __future__ import annotations

import pytest

from registry.ecosystems import java
from registry.ecosystems.base import ManifestError, PackageDef
from tests.registry.ecosystems.support import assert_defines, dep, names, of_type, parse_corpus, parse_text

PETCLINIC = ("java", "spring-projects__spring-petclinic", "pom.xml")
GSON = ("java", "google__gson")


def test_petclinic_defines_itself_and_scopes_its_dependencies() -> None:
    result = parse_corpus(java, *PETCLINIC)
    assert_defines(
        result, "java", [PackageDef("org.springframework.samples:spring-petclinic", "4.0.0-SNAPSHOT", "pom.xml")]
    )
    counts = {scope: len(of_type(result, scope)) for scope in ("compile", "runtime", "test")}
    assert counts == {"compile": 9, "runtime": 7, "test": 8}
    assert len(result.dependencies) == 24


def test_petclinic_property_versions_are_resolved() -> None:
    result = parse_corpus(java, *PETCLINIC)
    bootstrap = dep(result, "org.webjars.npm:bootstrap")
    assert (bootstrap.declared_range, bootstrap.dep_type) == ("5.3.8", "runtime")
    assert dep(result, "org.webjars:webjars-locator-lite").declared_range == "1.1.3"


def test_petclinic_versions_managed_by_an_external_parent_stay_empty() -> None:
    result = parse_corpus(java, *PETCLINIC)
    actuator = dep(result, "org.springframework.boot:spring-boot-starter-actuator")
    assert (actuator.declared_range, actuator.dep_type, actuator.hints) == ("", "compile", {})
    assert dep(result, "org.springframework.boot:spring-boot-devtools").hints == {"optional": True}


def test_petclinic_plugin_dependencies_are_not_project_dependencies() -> None:
    declared = names(parse_corpus(java, *PETCLINIC).dependencies)
    assert "com.puppycrawl.tools:checkstyle" not in declared
    assert "io.spring.nohttp:nohttp-checkstyle" not in declared


def test_gson_parent_defines_itself_and_dependency_management_alone_is_not_a_dependency() -> None:
    result = parse_corpus(java, *GSON, "pom.xml")
    assert result.packages == [PackageDef("com.google.code.gson:gson-parent", "2.14.1-SNAPSHOT", "pom.xml")]
    assert result.dependencies == []


def test_gson_child_inherits_group_and_version_from_its_parent() -> None:
    result = parse_corpus(java, *GSON, "gson/pom.xml")
    assert result.packages == [PackageDef("com.google.code.gson:gson", "2.14.1-SNAPSHOT", "gson/pom.xml")]


def test_gson_child_takes_missing_versions_from_the_parents_dependency_management() -> None:
    result = parse_corpus(java, *GSON, "gson/pom.xml")
    junit = dep(result, "junit:junit")
    assert (junit.declared_range, junit.dep_type, junit.hints) == ("4.13.2", "test", {"managed": True})
    assert dep(result, "com.google.truth:truth").declared_range == "1.4.5"
    assert dep(result, "com.google.errorprone:error_prone_annotations").dep_type == "compile"


def test_gson_proto_resolves_parent_version_and_local_properties() -> None:
    result = parse_corpus(java, *GSON, "proto/pom.xml")
    assert result.packages == [PackageDef("com.google.code.gson:proto", "2.14.1-SNAPSHOT", "proto/pom.xml")]
    assert dep(result, "com.google.code.gson:gson").declared_range == "2.14.1-SNAPSHOT"
    protobuf_util = dep(result, "com.google.protobuf:protobuf-java-util")
    assert (protobuf_util.declared_range, protobuf_util.dep_type) == ("4.35.1", "test")


PARENT = """<project>
  <groupId>org.example</groupId>
  <artifactId>parent</artifactId>
  <version>2.0.0</version>
  <properties><lib.version>1.1</lib.version><base>${lib.version}.9</base></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.lib</groupId><artifactId>managed</artifactId><version>${base}</version>
      <scope>provided</scope></dependency>
    <dependency><groupId>${project.groupId}</groupId><artifactId>sibling</artifactId><version>${project.version}</version>
    </dependency>
  </dependencies></dependencyManagement>
  <dependencies><dependency><groupId>org.lib</groupId><artifactId>from-parent</artifactId><version>1</version>
  </dependency></dependencies>
</project>"""

CHILD = """<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent><groupId>org.example</groupId><artifactId>parent</artifactId><version>2.0.0</version>
    <relativePath>../build</relativePath></parent>
  <artifactId>child</artifactId>
  <properties><lib.version>3.0</lib.version></properties>
  <dependencies>
    <dependency><groupId>org.lib</groupId><artifactId>managed</artifactId></dependency>
    <dependency><groupId>org.example</groupId><artifactId>sibling</artifactId></dependency>
    <dependency><groupId>org.lib</groupId><artifactId>unknown</artifactId><version>${nope}</version>
      <type>test-jar</type><classifier>tests</classifier><scope>test</scope></dependency>
    <dependency><artifactId>no-group</artifactId></dependency>
  </dependencies>
  <profiles><profile><dependencies>
    <dependency><groupId>org.lib</groupId><artifactId>in-profile</artifactId><version>1</version></dependency>
  </dependencies></profile></profiles>
</project>"""


def test_inheritance_through_an_explicit_relative_path_directory() -> None:
    result = parse_text(java, "modules/child/pom.xml", CHILD, {"modules/build/pom.xml": PARENT})
    assert result.packages == [PackageDef("org.example:child", "2.0.0", "modules/child/pom.xml")]
    managed = dep(result, "org.lib:managed")
    # The child's own lib.version overrides the parent's before ${base} is expanded, as in Maven.
    assert (managed.declared_range, managed.dep_type, managed.hints) == ("3.0.9", "provided", {"managed": True})
    assert dep(result, "org.example:sibling").declared_range == "2.0.0"
    assert names(result.dependencies) == ["org.lib:managed", "org.example:sibling", "org.lib:unknown"]


def test_unresolvable_properties_stay_verbatim_and_packaging_details_go_to_hints() -> None:
    result = parse_text(java, "modules/child/pom.xml", CHILD, {"modules/build/pom.xml": PARENT})
    unknown = dep(result, "org.lib:unknown")
    assert (unknown.declared_range, unknown.dep_type) == ("${nope}", "test")
    assert unknown.hints == {"type": "test-jar", "classifier": "tests"}


def test_without_the_parent_in_the_repository_only_local_facts_are_used() -> None:
    result = parse_text(java, "modules/child/pom.xml", CHILD)
    assert result.packages == [PackageDef("org.example:child", "2.0.0", "modules/child/pom.xml")]
    assert dep(result, "org.lib:managed").declared_range == ""
    assert dep(result, "org.lib:managed").dep_type == "compile"


def test_a_file_at_relative_path_that_is_not_the_named_parent_is_ignored() -> None:
    impostor = PARENT.replace("<artifactId>parent</artifactId>", "<artifactId>other</artifactId>", 1)
    result = parse_text(java, "modules/child/pom.xml", CHILD, {"modules/build/pom.xml": impostor})
    assert dep(result, "org.lib:managed").declared_range == ""


def test_an_empty_relative_path_means_the_parent_is_not_looked_up() -> None:
    child = CHILD.replace("<relativePath>../build</relativePath>", "<relativePath/>")
    result = parse_text(
        java, "modules/child/pom.xml", child, {"modules/build/pom.xml": PARENT, "modules/pom.xml": PARENT}
    )
    assert dep(result, "org.lib:managed").declared_range == ""


def test_parent_cycles_terminate() -> None:
    a = "<project><parent><groupId>g</groupId><artifactId>b</artifactId></parent><artifactId>a</artifactId></project>"
    b = "<project><parent><groupId>g</groupId><artifactId>a</artifactId><relativePath>a/pom.xml</relativePath></parent>"
    b += "<artifactId>b</artifactId><properties><p>from-b</p></properties></project>"
    result = parse_text(java, "a/pom.xml", a.replace("</project>", "<version>${p}</version></project>"), {"pom.xml": b})
    assert result.packages == [PackageDef("g:a", "from-b", "a/pom.xml")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<project><dependencies></project>", "invalid XML"),
        (b"", "invalid XML"),
        (b"<settings/>", "not a Maven POM"),
        (
            b'<?xml version="1.0"?><!DOCTYPE project [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<project><artifactId>&b;</artifactId></project>",
            "invalid XML",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE project [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<project><artifactId>&x;</artifactId></project>",
            "invalid XML",
        ),
    ],
    ids=["unclosed", "empty", "wrong-root", "entity-expansion", "external-entity"],
)
def test_malformed_or_unsafe_poms_raise_manifest_error(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        java.parse("pom.xml", data, lambda _: None)


def test_a_broken_parent_does_not_fail_the_child() -> None:
    result = parse_text(java, "modules/child/pom.xml", CHILD, {"modules/build/pom.xml": "<project>"})
    assert result.packages == [PackageDef("org.example:child", "2.0.0", "modules/child/pom.xml")]

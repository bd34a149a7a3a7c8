package clusterkv.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Jinja constructs HF chat templates rely on, each checked against what Python's jinja2 (with
 * HF's {@code trim_blocks=True, lstrip_blocks=True}) produces; expected values are written by hand
 * from Jinja's documented semantics.
 */
class JinjaConstructsTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-07T09:05:00Z"), ZoneOffset.UTC);

    private static List<Map<String, Object>> messages(String... roleContent) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < roleContent.length; i += 2) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("role", roleContent[i]);
            m.put("content", roleContent[i + 1]);
            list.add(m);
        }
        return list;
    }

    private static final List<Map<String, Object>> MSGS = messages(
            "system", "  Be brief.  ", "user", "Hi", "assistant", "<think>\nhmm\n</think>\n\nHello", "user", "Bye");

    private static String render(String template) {
        return render(template, Map.of());
    }

    private static String render(String template, Map<String, Object> vars) {
        JinjaEngine.Outcome o = outcome(template, vars);
        assertTrue(o.ok(), () -> "render failed: " + o.error());
        return o.output();
    }

    private static JinjaEngine.Outcome outcome(String template, Map<String, Object> vars) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", MSGS);
        ctx.put("add_generation_prompt", true);
        ctx.put("bos_token", "<s>");
        ctx.put("eos_token", "</s>");
        ctx.putAll(vars);
        try {
            return JinjaEngine.render(JinjaSource.toJinjava(template), ctx, CLOCK);
        } catch (JinjaSource.SyntaxError e) {
            throw new AssertionError(e);
        }
    }

    // ------------------------------------------------------------- expressions

    @Test
    void subscriptsAndAttributes() {
        assertEquals("system|user|Bye|Hi", render(
                "{{ messages[0]['role'] }}|{{ messages[1].role }}|{{ messages[-1]['content'] }}|{{ messages[1][\"content\"] }}"));
    }

    @Test
    void filtersBindTighterThanConcatenation() {
        assertEquals("[Be brief.]", render("{{ '[' + messages[0]['content'] | trim + ']' }}"));
        assertEquals("[  Be brief.  ]", render("{{ '[' ~ messages[0]['content'] ~ ']' }}"));
        assertEquals("3", render("{{ messages|length - 1 }}"));
        assertEquals("<s>x1", render("{{ bos_token + 'x' ~ 1 }}"));
    }

    @Test
    void notBindsLooserThanComparisons() {
        // Jinja: not a == b is not (a == b); Llama 3.1's template writes "not message.tool_calls|length == 1"
        assertEquals("yes", render("{% if not messages|length == 3 %}yes{% else %}no{% endif %}"));
        assertEquals("no", render("{% if not messages|length == 4 %}yes{% else %}no{% endif %}"));
        assertEquals("ok", render("{% if not messages|length == 4 and messages|length > 1 %}no{% else %}ok{% endif %}"));
        assertEquals("in", render("{% if 'x' not in 'abc' %}in{% endif %}"));
    }

    @Test
    void loopVariables() {
        assertEquals("0:system:F,1:user:-,2:assistant:-,3:user:L,", render(
                "{% for m in messages %}{{ loop.index0 }}:{{ m.role }}:"
                        + "{% if loop.first %}F{% elif loop.last %}L{% else %}-{% endif %},{% endfor %}"));
        assertEquals("1/4 2/4 3/4 4/4 ", render("{% for m in messages %}{{ loop.index }}/{{ loop.length }} {% endfor %}"));
    }

    @Test
    void namespaceAttributeAssignmentAndKeywordArguments() {
        assertEquals("True 2", render("{% set ns = namespace(found=false, last=messages|length - 2) %}"
                + "{% for m in messages %}{% if m.role == 'system' %}{% set ns.found = true %}{% endif %}{% endfor %}"
                + "{{ ns.found }} {{ ns.last }}"));
        assertEquals("2", render("{% set ns = namespace() %}{% set ns.i = 0 %}"
                + "{% for m in messages if m.role == 'user' %}{% set ns.i = ns.i + 1 %}{% endfor %}{{ ns.i }}"));
    }

    @Test
    void loopFilterCountsOnlyKeptItems() {
        assertEquals("Hi,Bye.", render("{% for m in messages if m.role == 'user' %}{{ m.content }}"
                + "{% if not loop.last %},{% else %}.{% endif %}{% endfor %}"));
        assertEquals("a=1;", render("{% for k, v in {'a': 1, 'return': 2}.items() if k != 'return' %}{{ k }}={{ v }};{% endfor %}"));
    }

    @Test
    void loopPrevAndNextItem() {
        assertEquals("-|system|user;system|user|assistant;user|assistant|user;assistant|user|-;", render(
                "{% for m in messages %}{{ loop.previtem.role if loop.previtem else '-' }}|{{ m.role }}|"
                        + "{{ loop.nextitem.role if loop.nextitem else '-' }};{% endfor %}"));
    }

    @Test
    void recursiveMacros() {
        assertEquals("321", render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"));
    }

    @Test
    void slices() {
        assertEquals("user,assistant,user,", render("{% for m in messages[1:] %}{{ m.role }},{% endfor %}"));
        assertEquals("user,assistant,user,system,", render("{% for m in messages[::-1] %}{{ m.role }},{% endfor %}"));
        assertEquals("system,assistant,", render("{% for m in messages[::2] %}{{ m.role }},{% endfor %}"));
        assertEquals("assistant,user,", render("{% for m in messages[-2:0:-1] %}{{ m.role }},{% endfor %}"));
        assertEquals("cba|ab|bc", render("{{ 'abc'[::-1] }}|{{ 'abc'[:-1] }}|{{ 'abc'[1:] }}"));
    }

    @Test
    void definedNoneAndBooleanTests() {
        assertEquals("False True True True", render("{{ 'True' if foo is defined else 'False' }} "
                + "{{ 'True' if messages is defined else 'False' }} "
                + "{{ 'True' if foo is not defined else 'False' }} "
                + "{{ 'True' if none is none else 'False' }}"));
        assertEquals("think-off", render("{% if enable_thinking is defined and enable_thinking is false %}think-off{% endif %}",
                Map.of("enable_thinking", false)));
        assertEquals("", render("{% if enable_thinking is defined and enable_thinking is false %}think-off{% endif %}"));
        assertEquals("yes", render("{% if True and not False and None is none %}yes{% endif %}"));
        assertEquals("str map seq", render("{% if messages[0].content is string %}str{% endif %} "
                + "{% if messages[0] is mapping %}map{% endif %} {% if messages is iterable %}seq{% endif %}"));
    }

    @Test
    void membership() {
        assertEquals("yes no yes", render("{{ 'yes' if '</think>' in messages[2].content else 'no' }} "
                + "{{ 'yes' if 'tool_calls' in messages[2] else 'no' }} "
                + "{{ 'yes' if messages[1].role in ['user', 'system'] else 'no' }}"));
    }

    @Test
    void pythonStringMethods() {
        assertEquals("[Be brief.]", render("[{{ messages[0].content.strip() }}]"));
        assertEquals("[]x", render("[{{ nope|trim }}]{{ (nope|trim) + 'x' }}"));
        assertEquals("[Be brief.  ][  Be brief.]", render("[{{ messages[0].content.lstrip() }}][{{ messages[0].content.rstrip() }}]"));
        assertEquals("hmm", render("{{ messages[2].content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}"));
        assertEquals("Hello", render("{{ messages[2].content.split('</think>')[-1].lstrip('\\n') }}"));
        assertEquals("3|a.b|x", render("{{ 'a b  c'.split() | length }}|{{ 'a.b'.split('|')[0] }}|{{ 'x,y'.split(',')[0] }}"));
        assertEquals("True False True True", render("{{ messages[2].content.startswith('<think>') }} "
                + "{{ messages[2].content.endswith('</think>') }} {{ 'abc'.endswith(('x', 'c')) }} "
                + "{{ 'abc'.startswith('b', 1) }}"));
        assertEquals("User|SYSTEM|gpt4 correct|Hello World", render(
                "{{ 'user'.capitalize() }}|{{ 'system'.upper() }}|{{ 'GPT4 Correct'.lower() }}|{{ 'hello world'.title() }}"));
        assertEquals("a-b-c|x_y|2|1", render("{{ '-'.join(['a', 'b', 'c']) }}|{{ 'x y'.replace(' ', '_') }}|"
                + "{{ 'a.b.c'.count('.') }}|{{ 'abc'.find('b') }}"));
        assertEquals("1 and 2", render("{{ '{} and {}'.format(1, 2) }}"));
        assertEquals("H|o", render("{{ messages[1].content[0] }}|{{ 'Hello'[-1] }}"));
    }

    @Test
    void dictGetAndItems() {
        assertEquals("user|none!|role=user;content=Hi;", render("{{ messages[1].get('role') }}|"
                + "{{ messages[1].get('tool_calls', 'none!') }}|"
                + "{% for k, v in messages[1].items() %}{{ k }}={{ v }};{% endfor %}"));
        assertEquals("1 2", render("{% set d = {'a': {'b': 1}, 'c': 2} %}{{ d['a']['b'] }} {{ d.c }}"));
        assertEquals("1", render("{{ {'a': {'b': 1}}['a']['b'] }}"));
    }

    @Test
    void tojsonLikePython() {
        assertEquals("{\"role\": \"user\", \"content\": \"Hi\"}", render("{{ messages[1] | tojson }}"));
        assertEquals("[1, \"a\\\"b\\n\", true, null, {}]", render("{{ [1, 'a\"b\\n', true, none, {}] | tojson }}"));
        assertEquals("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"é\"\n}",
                render("{{ {'a': [1, 2], 'b': 'é'} | tojson(indent=2) }}"));
        assertEquals("{\"b\":1,\"a\":2}", render("{{ {'b': 1, 'a': 2} | tojson(separators=(',', ':')) }}"));
        assertEquals("{\"a\": 2, \"b\": 1}", render("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}"));
    }

    @Test
    void otherFiltersAndFunctions() {
        assertEquals("2", render("{{ messages | selectattr('role', 'equalto', 'user') | list | length }}"));
        assertEquals("system,user,assistant,user", render("{{ messages | map(attribute='role') | join(',') }}"));
        assertEquals("012", render("{% for i in range(3) %}{{ i }}{% endfor %}"));
        assertEquals("07 Mar 2025|Friday 09:05", render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %H:%M') }}"));
        assertEquals("x-1|x-3", render("{% macro f(a, b=1) %}{{ a }}-{{ b }}{% endmacro %}{{ f('x') }}|{{ f('x', b=3) }}"));
        assertEquals("[block 1]", render("{% set x %}block {{ 1 }}{% endset %}[{{ x }}]"));
        assertEquals("a1b2", render("{% for k, v in dict({'a': 1}, b=2) | items %}{{ k }}{{ v }}{% endfor %}"));
        assertEquals("True|False|x", render("{{ true | string }}|{{ (1 > 2) | string }}|{{ 'x' | string }}"));
    }

    @Test
    void raiseExceptionFailsTheRender() {
        JinjaEngine.Outcome o = outcome("a{{ raise_exception('Roles must alternate!') }}b", Map.of());
        assertFalse(o.ok());
        assertTrue(o.raised());
        assertEquals("template raised an exception: Roles must alternate!", o.error());
    }

    @Test
    void messageTextIsNotInterpreted() {
        List<Map<String, Object>> msgs = messages("user", "{{ 1 + 1 }} {% if true %}x{% endif %} {# c #}");
        assertEquals("{{ 1 + 1 }} {% if true %}x{% endif %} {# c #}",
                render("{{ messages[0].content }}", Map.of("messages", msgs)));
    }

    // -------------------------------------------------------------- whitespace

    @Test
    void trimBlocksRemovesTheNewlineAfterABlockTag() {
        assertEquals("a\nb\n", render("{% if true %}\na\n{% endif %}\nb\n{# comment #}\n"
                + "{{ '' }}"));
        assertEquals("x\ny", render("{{ 'x' }}\n{{ 'y' }}"));
    }

    @Test
    void lstripBlocksOnlyAtTheStartOfALine() {
        assertEquals("b\nc", render("  {% if true %}\nb\n  {% endif %}\nc"));
        assertEquals("a  b", render("a  {% if true %}b{% endif %}"));
        assertEquals("x", render("{% if true %}\n    {% if true %}x{% endif %}\n{% endif %}"));
        assertEquals("A\nB", render("A\n  {# comment #}\nB"));
        assertEquals("x     y", render("x {% if true %}\n    y{% endif %}"));
    }

    @Test
    void plusDisablesLstripAndTrim() {
        assertEquals("  x", render("  {%+ if true %}x{% endif %}"));
        assertEquals("\nx", render("{% if true +%}\nx{% endif %}"));
    }

    @Test
    void minusStripsAllWhitespace() {
        assertEquals("ab", render("a \n  {%- if true -%} \n b \n {%- endif %}"));
        assertEquals("xyz", render("x  {{- 'y' -}}  \n z"));
        assertEquals("ab", render("a\n\n{#- comment -#}\n\nb"));
    }

    @Test
    void singleTrailingNewlineIsDropped() {
        assertEquals("x", render("x\n"));
        assertEquals("x\n", render("x\n\n"));
    }

    @Test
    void rawBlocks() {
        assertEquals("{{ not rendered }}{% if %}", render("{% raw %}{{ not rendered }}{% if %}{% endraw %}"));
        assertEquals("x\n  {{ y }}", render("{% raw %}\nx\n  {{ y }}{% endraw %}"));
    }

    @Test
    void generationMarkersAreIgnored() {
        assertEquals("Hello!", render("{% generation %}{{ 'Hello!' }}{% endgeneration %}"));
    }
}

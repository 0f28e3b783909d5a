import { readFileSync } from 'node:fs'
import path from 'node:path'
import { SyntaxKind } from 'typescript/unstable/ast'
import {
  API,
  type Checker,
  ObjectFlags,
  type Signature,
  SignatureKind,
  SymbolFlags,
  type Symbol as TsSymbol,
  type Type,
  type TypeReference,
} from 'typescript/unstable/sync'

// Walks tasklane's public API as the type checker sees it: every export of the package's entries
// (src/index.ts, src/dashboard/index.ts), and from there every type a public function, class member
// or property takes or returns, through unions, generics, arrays, promises and object literals. It
// reports (1) named types declared in src/ that no entry exports (a user could receive one but not
// name it), (2) functions and methods that return an object shape with no name, and (3) public
// declarations without the JSDoc house rule 7 asks for. Members marked @internal, private or
// #private are skipped: stripInternal leaves them out of the published declarations. It drives
// TypeScript 7's API (`typescript/unstable/*`, the checker of the pinned compiler): should an
// upgrade change that API, this file is what to adapt.

const REPO = path.resolve(import.meta.dirname, '../..')

/** Which API to walk; the default is tasklane's. */
export interface PublicApiSource {
  /** The TypeScript project to load. Default: the build's (src/ with stripInternal, as published). */
  tsconfig: string
  /**
   * The package entries whose exports are the public API: by default every entry of package.json's
   * `exports` (`tasklane` is src/index.ts, `tasklane/dashboard` src/dashboard/index.ts), by their
   * source condition. A type exported by any of them counts as exported.
   */
  entries: string[]
  /** Declarations under this folder are the package's own; the rest are dependencies. Default: src/. */
  root: string
}

/** The source file of each entry of package.json's `exports` (its `tasklane-source` condition). */
function packageEntries(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>
  }
  return Object.values(pkg.exports)
    .map((target) => (typeof target === 'object' ? target['tasklane-source'] : undefined))
    .filter((source): source is string => source !== undefined)
    .map((source) => path.join(REPO, source))
}

const TASKLANE = (): PublicApiSource => ({
  tsconfig: path.join(REPO, 'tsconfig.build.json'),
  entries: packageEntries(),
  root: path.join(REPO, 'src'),
})

/** A named type declared in src/ that a public declaration uses but src/index.ts does not export. */
export interface Unexported {
  name: string
  /** The file declaring it, relative to the repository. */
  file: string
  /** The public path that reaches it, e.g. `Tasklane.listWorkers() → return`. */
  via: string
}

/** A public declaration whose JSDoc is missing, or lacks the `@example` its kind needs. */
export interface Undocumented {
  /** Its public path, e.g. `Tasklane.addTask()` or `TasklaneOptions.workers`. */
  path: string
  missing: 'doc' | '@example'
}

/** What walking the public API found. */
export interface PublicApiReport {
  /** The public paths walked (exports, members, properties), for a test to check the walk is not empty. */
  walked: string[]
  unexported: Unexported[]
  /**
   * Public functions and methods that return an object shape with no name (`Promise<{ id: … }[]>`):
   * a user can only name it as `Awaited<ReturnType<…>>`. Paths like `Tasklane.listWorkers()`.
   */
  unnamedReturns: string[]
  undocumented: Undocumented[]
}

/** Walks the public API (tasklane's unless told) with the checker; takes a second or two. */
export function walkPublicApi(source: PublicApiSource = TASKLANE()): PublicApiReport {
  const api = new API({ cwd: REPO })
  try {
    const snapshot = api.updateSnapshot({ openProjects: [source.tsconfig] })
    const project = snapshot.getProject(source.tsconfig)
    if (!project) throw new Error(`no TypeScript project for ${source.tsconfig}`)
    const modules = source.entries.map((entry) => {
      const file = project.program.getSourceFile(entry)
      const module = file && project.checker.getSymbolAtLocation(file)
      if (!module) throw new Error(`${entry} is not in ${source.tsconfig}, or has no exports`)
      return module
    })
    return new Walker(project.checker, `${source.root}${path.sep}`).walk(modules)
  } finally {
    api.close()
  }
}

class Walker {
  readonly #checker: Checker
  readonly #root: string
  readonly #exported = new Set<number>()
  readonly #seenTypes = new Set<number>()
  readonly #seenSymbols = new Set<number>()
  readonly #report: PublicApiReport = { walked: [], unexported: [], unnamedReturns: [], undocumented: [] }

  constructor(checker: Checker, root: string) {
    this.#checker = checker
    this.#root = root
  }

  walk(modules: TsSymbol[]): PublicApiReport {
    const exports = modules.flatMap((m) =>
      this.#checker.getExportsOfModule(m).map((e) => [e.name, this.#target(e)] as const),
    )
    for (const [, s] of exports) this.#exported.add(s.id)
    for (const [name, s] of exports) this.#export(name, s)
    return this.#report
  }

  #target(s: TsSymbol): TsSymbol {
    return s.flags & SymbolFlags.Alias ? this.#checker.getAliasedSymbol(s) : s
  }

  #export(name: string, s: TsSymbol): void {
    if (!this.#own(s)) return
    this.#report.walked.push(name)
    this.#documented(s, name, s.flags & SymbolFlags.Function ? 'example' : 'doc')
    if (s.flags & SymbolFlags.Function) this.#returnsNamed(this.#checker.getTypeOfSymbol(s), `${name}()`)
    if (s.flags & SymbolFlags.Class) {
      this.#members(this.#checker.getDeclaredTypeOfSymbol(s), name, true)
      const ctor = s.getMembers().get('__constructor' as never)
      if (!ctor || !this.#hidden(ctor)) {
        this.#signatures(this.#checker.getTypeOfSymbol(s), name, SignatureKind.Construct)
      }
    } else if (s.flags & (SymbolFlags.Interface | SymbolFlags.TypeAlias)) {
      this.#type(this.#checker.getDeclaredTypeOfSymbol(s), name, true)
    }
    if (s.flags & (SymbolFlags.Function | SymbolFlags.Variable)) {
      const type = this.#checker.getTypeOfSymbol(s)
      if (type) this.#type(type, name)
    }
  }

  /** Properties and methods of an interface, class or object literal type, each walked once. */
  #members(type: Type, owner: string, named: boolean): void {
    for (const p of this.#checker.getPropertiesOfType(type)) {
      if (!this.#own(p) || this.#hidden(p)) continue
      const isMethod = (p.flags & SymbolFlags.Method) !== 0
      const where = `${owner}.${p.name}${isMethod ? '()' : ''}`
      if (this.#seenSymbols.has(p.id)) continue
      this.#seenSymbols.add(p.id)
      this.#report.walked.push(where)
      const t = this.#checker.getTypeOfSymbol(p)
      // Class methods need an example; members of interfaces (shapes a user passes or receives) a doc.
      const classMethod = isMethod && isClassMember(p)
      if (named) this.#documented(p, where, classMethod && !isWellKnown(p) ? 'example' : 'doc')
      if (named && classMethod) this.#returnsNamed(t, where)
      if (t) this.#type(t, where)
    }
    for (const info of this.#checker.getIndexInfosOfType(type)) this.#type(info.valueType, `${owner}[key]`)
  }

  #signatures(type: Type | undefined, where: string, kind: SignatureKind): void {
    if (!type) return
    for (const sig of this.#checker.getSignaturesOfType(type, kind)) this.#signature(sig, where)
  }

  #signature(sig: Signature, where: string): void {
    for (const param of sig.getParameters()) {
      const t = this.#checker.getTypeOfSymbol(param)
      if (t) this.#type(t, `${where} → ${param.name}`)
    }
    const ret = this.#checker.getReturnTypeOfSignature(sig)
    if (ret) this.#type(ret, `${where} → return`)
  }

  /**
   * Visits a type: a named one declared in src/ must be exported; its parts (members, signatures,
   * type arguments, union members) are walked too, so a type nested anywhere in a shape is found.
   */
  #type(type: Type, where: string, declared = false): void {
    const alias = type.getAliasSymbol()
    if (alias && !declared) {
      this.#named(alias, where)
      for (const arg of type.getAliasTypeArguments()) this.#type(arg, where)
    }
    if (this.#seenTypes.has(type.id)) return
    this.#seenTypes.add(type.id)
    if (type.isUnionType() || type.isIntersectionType()) {
      for (const t of type.getTypes() ?? []) this.#type(t, where)
      return
    }
    if (type.isTypeParameter()) {
      const constraint = this.#checker.getConstraintOfTypeParameter(type)
      if (constraint) this.#type(constraint, where)
      return
    }
    if (!type.isObjectType()) return
    if (type.objectFlags & ObjectFlags.Reference) {
      for (const arg of this.#checker.getTypeArguments(type as TypeReference)) this.#type(arg, where)
      const target = (type as TypeReference).getTarget()
      if (target.id !== type.id) {
        this.#type(target, where, declared)
        return
      }
    }
    const symbol = type.getSymbol()
    const isNamed = (type.objectFlags & ObjectFlags.ClassOrInterface) !== 0
    if (symbol && isNamed) {
      if (!this.#own(symbol)) return
      if (!declared) this.#named(symbol, where)
      this.#members(type, symbol.name, true)
      return
    }
    if (symbol && !this.#own(symbol) && symbol.name !== '__type' && symbol.name !== '__object') return
    this.#members(type, where, false)
    this.#signatures(type, where, SignatureKind.Call)
    this.#signatures(type, where, SignatureKind.Construct)
  }

  /** Reports a function or method (its type: `fn`) returning an object shape that has no name. */
  #returnsNamed(fn: Type | undefined, where: string): void {
    if (!fn) return
    for (const sig of this.#checker.getSignaturesOfType(fn, SignatureKind.Call)) {
      const ret = this.#checker.getReturnTypeOfSignature(sig)
      if (ret && this.#unnamedShape(ret, new Set())) {
        if (!this.#report.unnamedReturns.includes(where)) this.#report.unnamedReturns.push(where)
      }
    }
  }

  /** An object literal type with properties, itself or inside a Promise, an array or a union. */
  #unnamedShape(type: Type, seen: Set<number>): boolean {
    if (seen.has(type.id) || type.getAliasSymbol()) return false
    seen.add(type.id)
    if (type.isUnionType()) return (type.getTypes() ?? []).some((t) => this.#unnamedShape(t, seen))
    if (!type.isObjectType()) return false
    if (type.objectFlags & ObjectFlags.Reference) {
      const target = (type as TypeReference).getTarget().getSymbol()?.name
      if (target === 'Promise' || target === 'Array' || target === 'ReadonlyArray') {
        return this.#checker.getTypeArguments(type as TypeReference).some((t) => this.#unnamedShape(t, seen))
      }
      return false
    }
    const name = type.getSymbol()?.name
    return (name === '__type' || name === '__object') && this.#checker.getPropertiesOfType(type).length > 0
  }

  /** Declared in the package (not in a dependency or TypeScript's lib). */
  #own(s: TsSymbol): boolean {
    return s.declarations.length > 0 && s.declarations.every((d) => d.path.startsWith(this.#root))
  }

  #named(s: TsSymbol, where: string): void {
    if (!this.#own(s) || this.#exported.has(s.id)) return
    if (this.#report.unexported.some((u) => u.name === s.name)) return
    const file = path.relative(REPO, s.declarations[0]!.path)
    this.#report.unexported.push({ name: s.name, file, via: where })
  }

  /** Private, protected, `#private` and `@internal` members are not published. */
  #hidden(s: TsSymbol): boolean {
    if (s.name.startsWith('#') || s.name.startsWith('__#')) return true
    if (this.#checker.getJsDocTagsOfSymbol(s).some((t) => t.name === 'internal')) return true
    return s.declarations.some((d) => {
      const node = d.resolve() as { modifiers?: ReadonlyArray<{ kind: SyntaxKind }> } | undefined
      return node?.modifiers?.some(
        (m) => m.kind === SyntaxKind.PrivateKeyword || m.kind === SyntaxKind.ProtectedKeyword,
      )
    })
  }

  #documented(s: TsSymbol, where: string, needs: 'doc' | 'example'): void {
    const doc = this.#checker.getDocumentationCommentOfSymbol(s).trim()
    const tags = this.#checker.getJsDocTagsOfSymbol(s)
    if (!doc && tags.length === 0) this.#report.undocumented.push({ path: where, missing: 'doc' })
    else if (needs === 'example' && !tags.some((t) => t.name === 'example')) {
      this.#report.undocumented.push({ path: where, missing: '@example' })
    }
  }
}

function isClassMember(s: TsSymbol): boolean {
  return s.declarations.some((d) => d.kind === SyntaxKind.MethodDeclaration)
}

/** `[Symbol.asyncIterator]()` and the like: protocol methods, documented without an example. */
function isWellKnown(s: TsSymbol): boolean {
  return s.name.startsWith('__@')
}
